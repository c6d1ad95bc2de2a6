package io.kdstream.trainer.loop;

import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.state.TrainingCore.StepOutcome;

import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * The sync hook of a group member's round: after every step it checks whether the consumer group is rebalancing and,
 * if so, aborts the round ({@link TrainingLoop.Abort}). The member then rolls its model back to the group's last
 * completed round and restarts from the new assignment: a round that not every member of the generation completed
 * never counts. It runs last, so the step's own hooks (its step record, its dead letter) have seen the step.
 */
public final class GroupSyncHook implements TrainingLoop.Hook {
    /** The abort reason of a round ended by a rebalance. */
    public static final String REBALANCING = "the group is rebalancing";

    private final BooleanSupplier rebalancing;

    /** @param rebalancing true once the member's partitions were revoked or newly assigned */
    public GroupSyncHook(BooleanSupplier rebalancing) {
        this.rebalancing = Objects.requireNonNull(rebalancing, "rebalancing");
    }

    @Override
    public void afterStep(TrainingLoop.Progress progress, Batch batch, StepOutcome outcome) {
        if (rebalancing.getAsBoolean()) {
            throw new TrainingLoop.Abort(REBALANCING);
        }
    }
}
