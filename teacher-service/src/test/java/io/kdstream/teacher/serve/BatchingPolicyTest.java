package io.kdstream.teacher.serve;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BatchingPolicyTest {

    private static final long MS = 1_000_000L;
    private final BatchingPolicy policy = new BatchingPolicy(8, 20);

    @Test
    void shouldFlushAFullBatchAtOnce() {
        assertThat(policy.shouldFlush(8, 0, 0)).isTrue();
        assertThat(policy.shouldFlush(9, 0, 0)).isTrue();
        assertThat(policy.shouldFlush(7, 0, 0)).isFalse();
    }

    @Test
    void shouldFlushAPartialBatchOnceItsOldestInputHasWaitedMaxWait() {
        long arrived = 1_000 * MS;
        assertThat(policy.shouldFlush(1, arrived, arrived + 19 * MS)).isFalse();
        assertThat(policy.shouldFlush(1, arrived, arrived + 20 * MS)).isTrue();
        assertThat(policy.shouldFlush(0, arrived, arrived + 100 * MS)).isFalse();
    }

    @Test
    void shouldPollOnlyAsLongAsTheOldestInputMayStillWait() {
        long arrived = 5_000 * MS;
        assertThat(policy.pollTimeoutMs(0, 0, arrived, 200)).isEqualTo(200);
        assertThat(policy.pollTimeoutMs(3, arrived, arrived + 5 * MS, 200)).isEqualTo(15);
        assertThat(policy.pollTimeoutMs(3, arrived, arrived + 5 * MS + 1, 200)).isEqualTo(15);
        assertThat(policy.pollTimeoutMs(3, arrived, arrived + 30 * MS, 200)).isZero();
    }

    @Test
    void shouldNeverWaitWithAZeroMaxWait() {
        BatchingPolicy eager = new BatchingPolicy(64, 0);
        assertThat(eager.shouldFlush(1, 10, 10)).isTrue();
        assertThat(eager.pollTimeoutMs(1, 10, 10, 200)).isZero();
    }

    @Test
    void shouldReportBatchFill() {
        assertThat(policy.fill(2)).isEqualTo(0.25);
        assertThat(policy.fill(8)).isEqualTo(1.0);
    }

    @Test
    void shouldRejectNonsense() {
        assertThatThrownBy(() -> new BatchingPolicy(0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new BatchingPolicy(1, -1)).isInstanceOf(IllegalArgumentException.class);
    }
}
