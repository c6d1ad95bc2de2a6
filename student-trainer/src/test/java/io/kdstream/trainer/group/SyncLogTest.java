package io.kdstream.trainer.group;

import io.kdstream.avro.ModelSync;
import io.kdstream.avro.ModelSyncKind;
import io.kdstream.avro.PartitionRange;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SyncLogTest {

    private static List<ModelSync> join(int generation, String member, String... members) {
        return ModelSyncCodec.encode(new ModelSyncCodec.Message(ModelSyncKind.JOIN, "g", generation, 0, member, 0, List.of(),
                String.join("\n", members).getBytes(StandardCharsets.UTF_8)), 64);
    }

    private static List<ModelSync> contribution(int generation, long round, String member, long samples, int partition, long from,
                                                long to, float... params) {
        return ModelSyncCodec.encode(new ModelSyncCodec.Message(ModelSyncKind.CONTRIBUTION, "g", generation, round, member, samples,
                List.of(new PartitionRange("t", partition, from, to)), ModelSyncCodec.toBytes(params)), 4);
    }

    private static void feed(SyncLog log, List<ModelSync> records) {
        records.forEach(log::add);
    }

    @Test
    void shouldCompleteARoundOnceEveryMemberOfTheGenerationContributed() {
        SyncLog log = new SyncLog("g");
        feed(log, join(1, "a", "a", "b"));
        feed(log, join(1, "b", "a", "b"));
        feed(log, contribution(1, 1, "b", 1, 1, 0, 4, 4f, 8f));
        assertThat(log.state().round()).isZero();
        feed(log, contribution(1, 1, "a", 3, 0, 0, 12, 0f, 4f));
        assertThat(log.state().round()).isEqualTo(1);
        assertThat(log.state().generation()).isEqualTo(1);
        assertThat(log.state().parameters()).containsExactly(1f, 5f);
        assertThat(log.state().next()).containsEntry(0, 12L).containsEntry(1, 4L);
        assertThat(log.state().samples()).isEqualTo(4);
        assertThat(log.drainCompleted()).singleElement().satisfies(r -> assertThat(r.trained())
                .containsEntry("a", List.of(new PartitionRange("t", 0, 0L, 12L)))
                .containsEntry("b", List.of(new PartitionRange("t", 1, 0L, 4L))));
        assertThat(log.drainCompleted()).isEmpty();
    }

    @Test
    void shouldNeverCountAContributionThatFollowsANewerGeneration() {
        SyncLog log = new SyncLog("g");
        feed(log, join(1, "a", "a", "b"));
        feed(log, join(1, "b", "a", "b"));
        feed(log, contribution(1, 1, "a", 1, 0, 0, 4, 1f));
        feed(log, join(2, "a", "a"));
        feed(log, contribution(1, 1, "b", 1, 1, 0, 4, 3f)); // a dropped member's late contribution
        assertThat(log.state().round()).isZero();
        assertThat(log.maxGeneration()).isEqualTo(2);
        assertThat(log.hasJoined(2, "a")).isTrue();
        feed(log, contribution(2, 1, "a", 8, 0, 0, 8, 2f));
        assertThat(log.state().round()).isEqualTo(1);
        assertThat(log.state().parameters()).containsExactly(2f);
    }

    private static List<ModelSync> contribution(int epoch, long round, String member, int partition, long from, long to,
                                                float param) {
        return ModelSyncCodec.encode(new ModelSyncCodec.Message(ModelSyncKind.CONTRIBUTION, "g", 1, round, member, to - from,
                List.of(new PartitionRange("t", partition, from, to)), ModelSyncCodec.toBytes(new float[] {param}), epoch), 64);
    }

    /** Generation 1 of members a and b; a contributed to round 1 of epoch 0 (10 records of partition 0). */
    private static SyncLog membersAAndBWithAsFirstContribution() {
        SyncLog log = new SyncLog("g");
        feed(log, join(1, "a", "a", "b"));
        feed(log, join(1, "b", "a", "b"));
        feed(log, contribution(0, 1, "a", 0, 0, 10, 1f));
        return log;
    }

    @Test
    void shouldStartEveryPartitionOverWhenARoundBeginsTheNextEpoch() {
        SyncLog log = membersAAndBWithAsFirstContribution();
        feed(log, contribution(0, 1, "b", 1, 0, 10, 3f));
        assertThat(log.state().epoch()).isZero();
        assertThat(log.state().next()).containsEntry(0, 10L).containsEntry(1, 10L);
        // epoch 1: a trains 4 records of partition 0, b has not reached partition 1 yet (an empty range)
        feed(log, contribution(1, 2, "a", 0, 0, 4, 5f));
        feed(log, contribution(1, 2, "b", 1, 0, 0, 7f));
        assertThat(log.state().epoch()).isEqualTo(1);
        assertThat(log.state().next()).containsEntry(0, 4L).containsEntry(1, 0L);
        assertThat(log.state().samples()).isEqualTo(24);
        assertThat(log.state().parameters()).containsExactly(5f);
    }

    @Test
    void shouldRefuseARoundWhoseContributionsNameTwoEpochs() {
        SyncLog log = membersAAndBWithAsFirstContribution();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> feed(log, contribution(1, 1, "b", 1, 0, 10, 3f)))
                .isInstanceOf(io.kdstream.core.KdException.class).hasMessageContaining("epochs 0 and 1");
    }

    @Test
    void shouldIgnoreOtherGroups() {
        SyncLog log = new SyncLog("other");
        feed(log, join(1, "a", "a"));
        feed(log, contribution(1, 1, "a", 1, 0, 0, 4, 1f));
        assertThat(log.state().round()).isZero();
        assertThat(log.maxGeneration()).isEqualTo(-1);
    }
}
