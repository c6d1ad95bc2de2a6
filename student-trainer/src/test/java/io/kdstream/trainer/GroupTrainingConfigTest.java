package io.kdstream.trainer;

import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GroupTrainingConfigTest {

    private static Map<String, Object> group(Object... more) {
        Map<String, Object> p = new HashMap<>();
        p.put(TrainerConfig.GROUP_TRAINING_CONFIG, "true");
        for (int i = 0; i < more.length; i += 2) {
            p.put((String) more[i], more[i + 1]);
        }
        return p;
    }

    @Test
    void shouldBeOffByDefaultWithDocumentedDefaults() {
        TrainerConfig c = new TrainerConfig(Map.of());
        assertThat(c.groupTraining()).isFalse();
        assertThat(c.groupSyncIntervalSteps()).isEqualTo(20);
        assertThat(c.groupSyncTimeoutMs()).isEqualTo(60_000L);
        assertThat(c.groupSyncChunkBytes()).isEqualTo(256 * 1024);
        assertThat(c.groupMinMembers()).isEqualTo(1);
    }

    @Test
    void shouldAcceptAGroupRun() {
        TrainerConfig c = new TrainerConfig(group(TrainerConfig.GROUP_SYNC_INTERVAL_CONFIG, "5",
                TrainerConfig.GROUP_SYNC_CHUNK_BYTES_CONFIG, "4096"));
        assertThat(c.groupTraining()).isTrue();
        assertThat(c.groupSyncIntervalSteps()).isEqualTo(5);
        assertThat(c.groupSyncChunkBytes()).isEqualTo(4096);
    }

    @Test
    void shouldAcceptSeveralEpochs() {
        assertThat(new TrainerConfig(group(TrainerConfig.EPOCHS_CONFIG, "3")).epochs()).isEqualTo(3);
    }

    @Test
    void shouldRejectFollowFeatureKdAndMaxStepsInGroupMode() {
        assertThatThrownBy(() -> new TrainerConfig(group(TrainerConfig.FOLLOW_CONFIG, "true")))
                .isInstanceOf(ConfigException.class).hasMessageContaining(TrainerConfig.FOLLOW_CONFIG);
        assertThatThrownBy(() -> new TrainerConfig(group(TrainerConfig.FEATURE_WEIGHT_CONFIG, "0.5")))
                .isInstanceOf(ConfigException.class).hasMessageContaining(TrainerConfig.FEATURE_WEIGHT_CONFIG);
        assertThatThrownBy(() -> new TrainerConfig(group(TrainerConfig.MAX_STEPS_CONFIG, "10")))
                .isInstanceOf(ConfigException.class).hasMessageContaining(TrainerConfig.MAX_STEPS_CONFIG);
        for (String teacher : new String[] {"ema", "stream+ema"}) {
            assertThatThrownBy(() -> new TrainerConfig(group(TrainerConfig.TEACHER_CONFIG, teacher)))
                    .isInstanceOf(ConfigException.class).hasMessageContaining("EMA teacher")
                    .hasMessageContaining(TrainerConfig.TEACHER_CONFIG);
        }
    }

    @Test
    void shouldRejectOutOfRangeGroupValues() {
        assertThatThrownBy(() -> new TrainerConfig(group(TrainerConfig.GROUP_SYNC_INTERVAL_CONFIG, "0")))
                .isInstanceOf(ConfigException.class).hasMessageContaining(TrainerConfig.GROUP_SYNC_INTERVAL_CONFIG);
        assertThatThrownBy(() -> new TrainerConfig(group(TrainerConfig.GROUP_SYNC_CHUNK_BYTES_CONFIG, "10")))
                .isInstanceOf(ConfigException.class).hasMessageContaining(TrainerConfig.GROUP_SYNC_CHUNK_BYTES_CONFIG);
        assertThatThrownBy(() -> new TrainerConfig(group(TrainerConfig.GROUP_SYNC_TIMEOUT_CONFIG, "5")))
                .isInstanceOf(ConfigException.class).hasMessageContaining(TrainerConfig.GROUP_SYNC_TIMEOUT_CONFIG);
    }

    @Test
    void shouldLeaveGroupKeysOutOfTheTrainingHashSoExistingCheckpointsStillResume() {
        assertThat(new TrainerConfig(Map.of()).trainingSettings()).doesNotContainKeys(TrainerConfig.GROUP_TRAINING_CONFIG,
                TrainerConfig.GROUP_SYNC_INTERVAL_CONFIG, TrainerConfig.GROUP_SYNC_TIMEOUT_CONFIG,
                TrainerConfig.GROUP_SYNC_CHUNK_BYTES_CONFIG, TrainerConfig.GROUP_MIN_MEMBERS_CONFIG);
    }

    @Test
    void shouldRefuseAReplayOfAGroupRun() {
        TrainerConfig c = new TrainerConfig(group());
        assertThatThrownBy(() -> Trainer.builder().setConfig(c)
                .optRanges(java.util.List.of(new io.kdstream.avro.PartitionRange("t", 0, 0L, 1L))).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(TrainerConfig.GROUP_TRAINING_CONFIG);
    }
}
