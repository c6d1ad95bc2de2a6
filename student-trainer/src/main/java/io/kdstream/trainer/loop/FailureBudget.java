package io.kdstream.trainer.loop;

import io.kdstream.core.KdException;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Counts failed steps (non-finite losses) over a sliding window of steps and stops training once more than the
 * allowed number fall into one window: a run that keeps producing NaN is broken, not unlucky.
 */
public final class FailureBudget {
    private final int maxPerWindow;
    private final long windowSteps;
    private final String keys;
    private final Deque<Long> failedSteps = new ArrayDeque<>();
    private long total;

    /**
     * @param maxPerWindow most failures tolerated within one window
     * @param windowSteps  window length in steps
     * @param keys         the config keys to name in the error
     */
    public FailureBudget(int maxPerWindow, long windowSteps, String keys) {
        if (maxPerWindow < 0 || windowSteps <= 0) {
            throw new IllegalArgumentException("maxPerWindow must be >= 0 and windowSteps > 0");
        }
        this.maxPerWindow = maxPerWindow;
        this.windowSteps = windowSteps;
        this.keys = keys;
    }

    /**
     * A budget that is never spent: for a group member, whose failed steps are undone with their round when the round
     * does not count, and which has no budget of its own.
     */
    public static FailureBudget unlimited() {
        return new FailureBudget(Integer.MAX_VALUE, 1, "none");
    }

    /**
     * Records a failure at {@code step}.
     *
     * @throws KdException when more than {@code maxPerWindow} failures lie within the last {@code windowSteps} steps
     */
    public void recordFailure(long step, String reason) {
        total++;
        failedSteps.addLast(step);
        while (!failedSteps.isEmpty() && failedSteps.peekFirst() <= step - windowSteps) {
            failedSteps.removeFirst();
        }
        if (failedSteps.size() > maxPerWindow) {
            throw new KdException("Training stopped: " + failedSteps.size() + " failed steps within the last " + windowSteps
                    + " steps (at most " + maxPerWindow + " allowed; see " + keys + "). Last failure at step " + step + ": "
                    + reason);
        }
    }

    /** Failures recorded since creation. */
    public long total() {
        return total;
    }
}
