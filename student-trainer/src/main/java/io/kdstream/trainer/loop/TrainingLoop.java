package io.kdstream.trainer.loop;

import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.source.BatchSource;
import io.kdstream.trainer.source.Cursor;
import io.kdstream.trainer.state.TrainingCore.StepOutcome;

import java.util.List;
import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * The training loop: takes batches from a {@link BatchSource}, runs the step on each, and hands every step to its
 * {@link Hook}s in order (metrics, dead letters and the failure budget, the ledger, checkpoint-and-commit,
 * evaluation). It owns the loop's progress ({@link Progress}: steps, samples, failed steps, the cursor after the last
 * step, where the time went) and nothing else: what a step publishes, records or saves is a hook's business, so a
 * replay, a follow run and a bounded run drive the same loop with a different source and set of hooks.
 *
 * <p>The loop ends when the source is exhausted, when the step limit is reached, or when a stop is requested (checked
 * before every step). The source or a hook ends it early with an {@link Abort} (a group member's round when the group
 * rebalances: {@link GroupSyncHook}); any other exception from them ends the run.
 */
public final class TrainingLoop {
    /** How long one poll of the source waits before the loop checks for a stop again. */
    static final long POLL_MS = 200;

    /** One training step over a batch: the trainer's {@code TrainingCore} in a run, a fake in a test. */
    @FunctionalInterface
    public interface Stepper {
        StepOutcome step(Batch batch, long stepIndex);
    }

    /** A phase run after every step. */
    @FunctionalInterface
    public interface Hook {
        /**
         * Called after step {@code progress.steps()} (counted from 1) trained {@code batch}; {@code progress} already
         * counts the step, its samples or its failure, and holds the cursor after the batch.
         */
        void afterStep(Progress progress, Batch batch, StepOutcome outcome) throws InterruptedException;
    }

    /** Why the loop ended. */
    public enum End {
        /** The source has no more batches (a bounded range is through). */
        EXHAUSTED,
        /** The step limit was reached. */
        MAX_STEPS,
        /** A stop was requested. */
        STOPPED,
        /** The source or a hook threw {@link Abort}: what was trained since the last sync point does not count. */
        ABORTED
    }

    /**
     * Thrown by the source or a hook to abort the loop at once: the hooks after the throwing one do not see the step,
     * and no further batch is taken. The caller decides what the aborted steps mean (a group member rolls them back).
     */
    public static final class Abort extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public Abort(String reason) {
            super(reason, null, false, false);
        }
    }

    /** The loop's progress, restored from a checkpoint or fresh; read by the hooks, advanced by the loop only. */
    public static final class Progress {
        private long steps;
        private long samples;
        private long failedSteps;
        private Cursor cursor;
        private long decodeNanos;
        private long waitNanos;
        private long forwardBackwardNanos;
        private long optimizerNanos;
        private long firstBatchNanos = -1;
        private String abortReason;

        /** Progress of a run at its start, or at a checkpoint: {@code steps} taken, with the cursor after them. */
        public Progress(long steps, long samples, long failedSteps, Cursor cursor) {
            this.steps = steps;
            this.samples = samples;
            this.failedSteps = failedSteps;
            this.cursor = Objects.requireNonNull(cursor, "cursor");
        }

        /** Steps taken, skipped ones included. */
        public long steps() {
            return steps;
        }

        /** Examples trained on (a skipped step's are not). */
        public long samples() {
            return samples;
        }

        /** Steps skipped for a non-finite loss or gradient. */
        public long failedSteps() {
            return failedSteps;
        }

        /** Where a run resumes: the cursor after the last step (or the source's end cursor once it is exhausted). */
        public Cursor cursor() {
            return cursor;
        }

        public long decodeNanos() {
            return decodeNanos;
        }

        /** Time spent waiting for the source's next batch. */
        public long waitNanos() {
            return waitNanos;
        }

        public long forwardBackwardNanos() {
            return forwardBackwardNanos;
        }

        public long optimizerNanos() {
            return optimizerNanos;
        }

        /** Why the loop was aborted ({@link End#ABORTED}), or null. */
        public String abortReason() {
            return abortReason;
        }

        /** Time from the loop's start to the first batch, or -1 before it arrived. */
        public long firstBatchNanos() {
            return firstBatchNanos;
        }
    }

    private final BatchSource source;
    private final Stepper stepper;
    private final long maxSteps;
    private final BooleanSupplier stopRequested;
    private final List<Hook> hooks;

    /**
     * @param maxSteps      step limit (counted over the whole run, resumed steps included); 0 for none
     * @param stopRequested checked before every step
     * @param hooks         run after every step, in this order
     */
    public TrainingLoop(BatchSource source, Stepper stepper, long maxSteps, BooleanSupplier stopRequested, List<Hook> hooks) {
        this.source = Objects.requireNonNull(source, "source");
        this.stepper = Objects.requireNonNull(stepper, "stepper");
        this.maxSteps = maxSteps;
        this.stopRequested = Objects.requireNonNull(stopRequested, "stopRequested");
        this.hooks = List.copyOf(hooks);
    }

    /**
     * Starts the source and trains until it is exhausted, the step limit is reached, a stop is requested or the source
     * or a hook aborts.
     */
    public End run(Progress progress) throws InterruptedException {
        try {
            return loop(progress);
        } catch (Abort abort) {
            progress.abortReason = abort.getMessage();
            return End.ABORTED;
        }
    }

    private End loop(Progress progress) throws InterruptedException {
        long loopStart = System.nanoTime();
        source.start();
        while (true) {
            if (maxSteps > 0 && progress.steps >= maxSteps) {
                return End.MAX_STEPS;
            }
            if (stopRequested.getAsBoolean()) {
                return End.STOPPED;
            }
            long w0 = System.nanoTime();
            Batch batch = source.poll(POLL_MS);
            progress.waitNanos += System.nanoTime() - w0;
            if (batch == BatchSource.TIMEOUT) {
                continue;
            }
            if (batch == null) {
                if (source.endCursor() != null) {
                    progress.cursor = source.endCursor();
                }
                return End.EXHAUSTED;
            }
            progress.decodeNanos += batch.decodeNanos();
            if (progress.firstBatchNanos < 0) {
                progress.firstBatchNanos = System.nanoTime() - loopStart;
            }
            StepOutcome outcome = stepper.step(batch, progress.steps);
            progress.steps++;
            progress.forwardBackwardNanos += outcome.forwardBackwardNanos();
            progress.optimizerNanos += outcome.optimizerNanos();
            if (outcome.applied()) {
                progress.samples += batch.size();
            } else {
                progress.failedSteps++;
            }
            progress.cursor = batch.after();
            for (Hook hook : hooks) {
                hook.afterStep(progress, batch, outcome);
            }
        }
    }
}
