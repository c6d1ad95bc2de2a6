package io.kdstream.teacher.serve;

/**
 * Dynamic batching: a batch runs when it holds {@code maxSize} inputs, or when its oldest input has waited
 * {@code maxWaitMs}, whichever comes first.
 *
 * @param maxSize   largest batch, >= 1
 * @param maxWaitMs longest wait of the oldest pending input, >= 0
 */
public record BatchingPolicy(int maxSize, long maxWaitMs) {

    public BatchingPolicy {
        if (maxSize < 1) {
            throw new IllegalArgumentException("maxSize must be >= 1, got " + maxSize);
        }
        if (maxWaitMs < 0) {
            throw new IllegalArgumentException("maxWaitMs must be >= 0, got " + maxWaitMs);
        }
    }

    /**
     * Whether the pending inputs must run now.
     *
     * @param pending          inputs waiting
     * @param oldestArrivalNs  {@link System#nanoTime()} when the oldest of them arrived
     * @param nowNs            the current {@link System#nanoTime()}
     */
    public boolean shouldFlush(int pending, long oldestArrivalNs, long nowNs) {
        if (pending <= 0) {
            return false;
        }
        return pending >= maxSize || nowNs - oldestArrivalNs >= maxWaitMs * 1_000_000L;
    }

    /**
     * How long the next poll may block: the time the oldest pending input may still wait (at least 0), or
     * {@code idleMs} when nothing is pending.
     */
    public long pollTimeoutMs(int pending, long oldestArrivalNs, long nowNs, long idleMs) {
        if (pending <= 0) {
            return idleMs;
        }
        long leftNs = maxWaitMs * 1_000_000L - (nowNs - oldestArrivalNs);
        return Math.max(0, (leftNs + 999_999) / 1_000_000L);
    }

    /** Occupancy of a batch of {@code size} inputs, in (0, 1]. */
    public double fill(int size) {
        return Math.min(1.0, (double) size / maxSize);
    }
}
