package io.kdstream.trainer.loop;

import io.kdstream.trainer.run.Ledger;
import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.state.TrainingCore.StepOutcome;

import java.util.Objects;

/**
 * Records the offset segments every step trained in the run's ledger (online runs), and syncs the ledger to disk every
 * {@code syncInterval} steps: registered before the {@link CheckpointHook} with the checkpoint interval, so a
 * checkpoint never covers a step the ledger could lose.
 */
public final class LedgerHook implements TrainingLoop.Hook {
    private final Ledger ledger;
    private final int syncInterval;

    public LedgerHook(Ledger ledger, int syncInterval) {
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        if (syncInterval < 1) {
            throw new IllegalArgumentException("sync interval must be at least 1, got " + syncInterval);
        }
        this.syncInterval = syncInterval;
    }

    @Override
    public void afterStep(TrainingLoop.Progress progress, Batch batch, StepOutcome outcome) {
        ledger.write(progress.steps(), batch.segments());
        if (progress.steps() % syncInterval == 0) {
            ledger.sync();
        }
    }
}
