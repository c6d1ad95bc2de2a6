package io.kdstream.trainer.loop;

import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.state.TrainingCore.StepOutcome;

import java.util.Objects;
import java.util.function.LongConsumer;

/** Evaluates the student every {@code interval} steps (never with an interval of 0). */
public final class EvaluationHook implements TrainingLoop.Hook {
    private final int interval;
    private final LongConsumer evaluate;

    /** @param evaluate called with the step count (from 1) at which to evaluate */
    public EvaluationHook(int interval, LongConsumer evaluate) {
        if (interval < 0) {
            throw new IllegalArgumentException("evaluation interval must be >= 0, got " + interval);
        }
        this.interval = interval;
        this.evaluate = Objects.requireNonNull(evaluate, "evaluate");
    }

    @Override
    public void afterStep(TrainingLoop.Progress progress, Batch batch, StepOutcome outcome) {
        if (interval > 0 && progress.steps() % interval == 0) {
            evaluate.accept(progress.steps());
        }
    }
}
