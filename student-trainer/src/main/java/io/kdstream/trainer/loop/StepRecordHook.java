package io.kdstream.trainer.loop;

import io.kdstream.avro.TrainingStep;
import io.kdstream.trainer.run.StepPublisher;
import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.state.TrainingCore.StepOutcome;

import java.time.Instant;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Publishes a {@code TrainingStep} per step to the metrics topic (through the run's {@link StepPublisher}, off the
 * training thread) and hands it to the step listener.
 */
public final class StepRecordHook implements TrainingLoop.Hook {
    private final StepPublisher<TrainingStep> publisher;
    private final Identity identity;
    private final Consumer<TrainingStep> listener;
    private long publishNanos;

    /** Who publishes the step records: the run, the trainer and its consumer group. */
    public record Identity(String runId, String trainerId, String group) {
        public Identity {
            Objects.requireNonNull(runId, "runId");
            Objects.requireNonNull(trainerId, "trainerId");
            Objects.requireNonNull(group, "group");
        }
    }

    public StepRecordHook(StepPublisher<TrainingStep> publisher, Identity identity, Consumer<TrainingStep> listener) {
        this.publisher = Objects.requireNonNull(publisher, "publisher");
        this.identity = Objects.requireNonNull(identity, "identity");
        this.listener = Objects.requireNonNull(listener, "listener");
    }

    /** The record of step {@code step} (counted from 1) over {@code batch}. */
    public static TrainingStep record(Identity identity, long step, Batch batch, StepOutcome o) {
        return TrainingStep.newBuilder()
                .setRunId(identity.runId()).setTrainerId(identity.trainerId()).setGroup(identity.group())
                .setStep(step).setEpoch(batch.epoch()).setTimestampMs(Instant.now())
                .setTaskLoss(o.taskLoss()).setKdLoss(o.kdLoss()).setFeatureLoss(o.featureLoss())
                .setTotalLoss(o.totalLoss()).setTemperature(o.temperature()).setAlpha(o.alpha())
                .setLearningRate(o.learningRate()).setSamples(batch.size()).setFailures(batch.failures())
                .setStepLatencyMs((o.forwardBackwardNanos() + o.optimizerNanos()) / 1e6)
                .setLabelledSamples(batch.labelled())
                .build();
    }

    @Override
    public void afterStep(TrainingLoop.Progress progress, Batch batch, StepOutcome outcome) throws InterruptedException {
        long p0 = System.nanoTime();
        TrainingStep record = record(identity, progress.steps(), batch, outcome);
        publisher.publish(identity.runId(), record);
        listener.accept(record);
        publishNanos += System.nanoTime() - p0;
    }

    /** Time spent building and handing over step records. */
    public long publishNanos() {
        return publishNanos;
    }
}
