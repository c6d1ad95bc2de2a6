package io.kdstream.streams;

import io.kdstream.avro.TrainingStep;
import io.kdstream.streams.internals.StalenessTracker;
import io.kdstream.streams.internals.StateBytes;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.state.Stores;

/**
 * The staleness monitor. Per trainer, the last step and when the monitor saw it; a wall-clock punctuator raises one
 * TRAINER_STALE alert when a trainer has been silent longer than the threshold, and the trainer's next step raises the
 * RESOLVED alert; a trainer whose run finished is not reported. It uses wall-clock time because silence is the absence of records: when all trainers stop, stream
 * time stops as well and a stream-time punctuator would never fire.
 */
public final class StalenessMonitor {

    /** Per-trainer activity store. */
    public static final String STORE = "trainer-activity";

    private StalenessMonitor() {
    }

    /** Adds the monitor, reading the metrics topic itself. */
    public static void build(StreamsBuilder builder, MonitorTopics topics, Thresholds thresholds,
                             MonitorSerdes serdes) {
        build(builder, LossRatioMonitor.metrics(builder, topics, serdes), topics, thresholds, serdes, null);
    }

    /**
     * Adds the monitor on an existing TrainingStep stream. With {@code runsStore} (the global store of ended runs,
     * see {@link RunEnds}) the trainer of a finished run is not reported stale; null reports every silent trainer.
     */
    public static void build(StreamsBuilder builder, KStream<String, TrainingStep> steps, MonitorTopics topics,
                             Thresholds thresholds, MonitorSerdes serdes, String runsStore) {
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STORE), Serdes.String(),
                StateBytes.trainerActivity()));
        steps.selectKey((key, step) -> step.getTrainerId(), Named.as("staleness-key-by-trainer"))
                .repartition(Repartitioned.with(Serdes.String(), serdes.trainingStep())
                        .withName("staleness-by-trainer"))
                .process(() -> new StalenessTracker(STORE, thresholds.stalenessThreshold(),
                        thresholds.stalenessCheckInterval(), runsStore), Named.as("staleness-tracker"), STORE)
                .to(topics.alerts(), Produced.with(Serdes.String(), serdes.alert())
                        .withName("staleness-alerts"));
    }
}
