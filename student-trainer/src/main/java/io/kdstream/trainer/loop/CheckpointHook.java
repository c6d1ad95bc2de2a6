package io.kdstream.trainer.loop;

import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.state.TrainingCore.StepOutcome;

import java.util.Objects;

/** Checkpoints (and commits the consumed offsets) every {@code interval} steps. */
public final class CheckpointHook implements TrainingLoop.Hook {

    /** Writes a checkpoint of the run at {@code progress} and commits what it covers. */
    @FunctionalInterface
    public interface Checkpoints {
        void write(TrainingLoop.Progress progress);
    }

    private final int interval;
    private final Checkpoints checkpoints;

    public CheckpointHook(int interval, Checkpoints checkpoints) {
        if (interval < 1) {
            throw new IllegalArgumentException("checkpoint interval must be at least 1, got " + interval);
        }
        this.interval = interval;
        this.checkpoints = Objects.requireNonNull(checkpoints, "checkpoints");
    }

    @Override
    public void afterStep(TrainingLoop.Progress progress, Batch batch, StepOutcome outcome) {
        if (progress.steps() % interval == 0) {
            checkpoints.write(progress);
        }
    }
}
