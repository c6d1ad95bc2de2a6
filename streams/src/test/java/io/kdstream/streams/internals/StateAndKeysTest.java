package io.kdstream.streams.internals;

import io.kdstream.streams.internals.LossRatioState.Band;

import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StateAndKeysTest {

    @Test
    void shouldRoundTripSubjectKeysWhosePartsContainSeparators() {
        SubjectKey key = new SubjectKey("run:1/a", "3:trainer/b");
        assertThat(SubjectKey.decode(key.encode())).isEqualTo(key);
        assertThat(key.encode()).startsWith(SubjectKey.prefixOf("run:1/a"));
        assertThat(SubjectKey.decode(new SubjectKey("", "").encode())).isEqualTo(new SubjectKey("", ""));
    }

    @Test
    void shouldRejectStringsThatAreNotSubjectKeys() {
        assertThatThrownBy(() -> SubjectKey.decode("run-1")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SubjectKey.decode("9:abc")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldRoundTripStateThroughItsBinaryForm() {
        LossAccumulator acc = LossAccumulator.empty()
                .add(io.kdstream.streams.StepFixtures.step(3, 0.5, 1.0, 1.5))
                .add(io.kdstream.streams.StepFixtures.step(5, Double.NaN, 1.0, 1.5));
        assertThat(LossAccumulator.fromBytes(acc.toBytes())).isEqualTo(acc);

        LossRatioState state = new LossRatioState(30_000, 1.25, Band.ABOVE, 3, Band.ABOVE);
        assertThat(LossRatioState.fromBytes(state.toBytes())).isEqualTo(state);

        TrainerActivity activity = new TrainerActivity("rün-1", 42, 1_000, 2_000, true);
        assertThat(TrainerActivity.fromBytes(activity.toBytes())).isEqualTo(activity);
    }

    @Test
    void shouldReadVersionOneLossStateCountingEveryFiniteStepAsDistilling() {
        // the version-1 layout: version byte, then 13 eight-byte fields (no distilling count)
        java.nio.ByteBuffer v1 = java.nio.ByteBuffer.allocate(1 + 8 * 13).put((byte) 1)
                .putLong(2).putLong(0).putLong(2).putDouble(1.0).putDouble(0.5).putDouble(0.0).putDouble(1.5)
                .putLong(3).putDouble(2.0).putDouble(4.0).putDouble(1.5).putLong(3).putLong(5);
        LossAccumulator acc = LossAccumulator.fromBytes(v1.array());
        assertThat(acc.distilling()).isEqualTo(2);
        assertThat(acc.ratio()).isEqualTo(0.5);
        assertThat(LossAccumulator.fromBytes(acc.toBytes())).isEqualTo(acc);
    }

    @Test
    void shouldRefuseCorruptState() {
        assertThatThrownBy(() -> LossAccumulator.fromBytes(new byte[] {1, 2, 3}))
                .isInstanceOf(SerializationException.class);
        assertThatThrownBy(() -> LossRatioState.fromBytes(new byte[] {9}))
                .isInstanceOf(SerializationException.class);
    }

    @Test
    void shouldFindTheOldestHoppingWindowOfARecordAsKafkaDoes() {
        // windows of 10 s advancing by 5 s: a record at 12 s is in [5, 15) and [10, 20)
        assertThat(ClosingWindows.firstWindowStart(12_000, 10_000, 5_000)).isEqualTo(5_000);
        assertThat(ClosingWindows.firstWindowStart(3_000, 10_000, 5_000)).isZero();
        assertThat(ClosingWindows.firstWindowStart(12_000, 10_000, 10_000)).isEqualTo(10_000);
    }

    @Test
    void shouldRoundTripWindowProgressAndRunEnds() {
        WindowProgress progress = WindowProgress.none().withEvent(5_000).withClosedThrough(0);
        assertThat(WindowProgress.fromBytes(progress.toBytes())).isEqualTo(progress);
        assertThat(progress.isClosed(0)).isTrue();
        assertThat(progress.isClosed(5_000)).isFalse();
        RunEnd end = new RunEnd(io.kdstream.avro.RunStatus.FINISHED, 42L);
        assertThat(RunEnd.fromBytes(end.toBytes())).isEqualTo(end);
        assertThat(end.endedAfter(42L)).isTrue();
        assertThat(end.endedAfter(43L)).isFalse();
        assertThatThrownBy(() -> RunEnd.fromBytes(new byte[] {1, 0, 0})).isInstanceOf(SerializationException.class);
    }
}
