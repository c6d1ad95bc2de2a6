package io.kdstream.trainer.loop;

import io.kdstream.core.KdException;
import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.state.TrainingCore.StepOutcome;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Objects;

/**
 * Handles a skipped step (a non-finite loss or gradient): logs it, dead-letters the batch's first record with the
 * reason, and counts it against the {@link FailureBudget}; once the budget is spent it runs the run's failure action
 * (e.g. publishing a FAILED manifest) and ends the loop by rethrowing the budget's error.
 */
public final class FailureHook implements TrainingLoop.Hook {
    private static final Logger LOGGER = LoggerFactory.getLogger(FailureHook.class);

    /** Dead-letters the first record of a skipped batch. */
    @FunctionalInterface
    public interface DeadLetters {
        void publish(String reason, Batch batch, long step);
    }

    /** What the run does before the loop ends on a spent budget. */
    @FunctionalInterface
    public interface OnSpent {
        void run() throws InterruptedException;
    }

    private final String runId;
    private final FailureBudget budget;
    private final DeadLetters deadLetters;
    private final OnSpent onSpent;

    public FailureHook(String runId, FailureBudget budget, DeadLetters deadLetters, OnSpent onSpent) {
        this.runId = Objects.requireNonNull(runId, "runId");
        this.budget = Objects.requireNonNull(budget, "budget");
        this.deadLetters = Objects.requireNonNull(deadLetters, "deadLetters");
        this.onSpent = Objects.requireNonNull(onSpent, "onSpent");
    }

    /**
     * Logs and dead-letters skipped steps without a budget ({@link FailureBudget#unlimited()}): for a group member,
     * whose failed steps are undone with the round when the round does not count, and which has no budget of its own.
     */
    public static FailureHook withoutBudget(String runId, DeadLetters deadLetters) {
        return new FailureHook(runId, FailureBudget.unlimited(), deadLetters, () -> { });
    }

    /** Why step {@code step} (counted from 1) was skipped, for the log and the dead letter. */
    public static String reason(long step, Batch batch, StepOutcome o) {
        String what = Double.isFinite(o.totalLoss()) ? "non-finite gradient" : "non-finite loss";
        return what + " at step " + step + " (total " + o.totalLoss() + ", task " + o.taskLoss() + ", kd " + o.kdLoss()
                + "); batch of " + batch.size() + " skipped";
    }

    @Override
    public void afterStep(TrainingLoop.Progress progress, Batch batch, StepOutcome outcome) throws InterruptedException {
        if (outcome.applied()) {
            return;
        }
        long step = progress.steps();
        String reason = reason(step, batch, outcome);
        LOGGER.warn("Run {}: {}", runId, reason);
        deadLetters.publish(reason, batch, step);
        try {
            budget.recordFailure(step, reason);
        } catch (KdException e) {
            onSpent.run();
            throw e;
        }
    }
}
