package io.kdstream.streams;

import io.kdstream.avro.Alert;
import io.kdstream.avro.TrainingStep;
import io.kdstream.streams.internals.Emission;
import io.kdstream.streams.internals.EventTimestamps;
import io.kdstream.streams.internals.LateRecordGate;
import io.kdstream.streams.internals.LossAccumulator;
import io.kdstream.streams.internals.LossWindowEmitter;
import io.kdstream.streams.internals.NonFiniteDetector;
import io.kdstream.streams.internals.StateBytes;
import io.kdstream.streams.internals.SubjectKey;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.Suppressed.BufferConfig;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The loss-ratio monitor. Per run and trainer, over hopping event-time windows of {@code TrainingStep.timestampMs}:
 * sum(KD loss) / sum(task loss), the mean total loss and its trend (least-squares slope against step), and a moving
 * average of the ratio across windows. Publishes a MonitorEvent per closed window to the monitors topic; raises an
 * alert when the ratio stays on one side outside the band for M consecutive windows (once per breach, resolved when
 * it comes back), and at once when a step reports a non-finite loss (at most once per window size per trainer).
 * Steps too late for every window (beyond the grace period) are dropped from the windows and counted.
 */
public final class LossRatioMonitor {

    /** Window store of the open and recent windows (String subject key to {@link LossAccumulator}). */
    public static final String WINDOW_STORE = "loss-ratio-windows";
    /** Per-subject ratio state across windows: moving average, streak, firing alert. */
    public static final String STATE_STORE = "loss-ratio-state";
    /** Per-subject count of steps dropped as too late. */
    public static final String LATE_STORE = "loss-ratio-late-records";
    /** Per-subject slot of the last non-finite alert. */
    public static final String NON_FINITE_STORE = "loss-ratio-non-finite-alerts";

    private LossRatioMonitor() {
    }

    /** The TrainingStep stream of the metrics topic, with event time from the record; shared by the monitors. */
    public static KStream<String, TrainingStep> metrics(StreamsBuilder builder, MonitorTopics topics,
                                                        MonitorSerdes serdes) {
        return builder.stream(topics.metrics(), Consumed.with(Serdes.String(), serdes.trainingStep())
                        .withTimestampExtractor(new EventTimestamps())
                        .withName("metrics-source"))
                .filter((key, step) -> step != null, Named.as("metrics-skip-tombstones"));
    }

    /** Adds the monitor, reading the metrics topic itself. */
    public static void build(StreamsBuilder builder, MonitorTopics topics, Thresholds thresholds,
                             MonitorSerdes serdes) {
        build(builder, metrics(builder, topics, serdes), topics, thresholds, serdes);
    }

    /** Adds the monitor on an existing TrainingStep stream (one topic can be a source only once per topology). */
    public static void build(StreamsBuilder builder, KStream<String, TrainingStep> steps, MonitorTopics topics,
                             Thresholds thresholds, MonitorSerdes serdes) {
        long size = thresholds.lossWindowSize().toMillis();
        long advance = thresholds.lossWindowAdvance().toMillis();
        long grace = thresholds.lossWindowGrace().toMillis();
        builder.addStateStore(longStore(LATE_STORE));
        builder.addStateStore(longStore(NON_FINITE_STORE));
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STATE_STORE),
                Serdes.String(), StateBytes.lossRatioState()));

        KStream<String, TrainingStep> bySubject = steps
                .selectKey((key, step) -> new SubjectKey(step.getRunId(), step.getTrainerId()).encode(),
                        Named.as("loss-ratio-key-by-run-trainer"))
                .repartition(Repartitioned.with(Serdes.String(), serdes.trainingStep())
                        .withName("loss-ratio-by-run-trainer"));

        bySubject.process(() -> new NonFiniteDetector(NON_FINITE_STORE, size), Named.as("loss-ratio-non-finite"),
                        NON_FINITE_STORE)
                .to(topics.alerts(), Produced.with(Serdes.String(), serdes.alert())
                        .withName("loss-ratio-non-finite-alerts"));

        KStream<String, Emission> emissions = bySubject
                .processValues(() -> new LateRecordGate<TrainingStep>(LATE_STORE, "loss-ratio", size, advance, grace),
                        Named.as("loss-ratio-late-gate"), LATE_STORE)
                .groupByKey(Grouped.with(Serdes.String(), serdes.trainingStep()))
                .windowedBy(TimeWindows.ofSizeAndGrace(thresholds.lossWindowSize(), thresholds.lossWindowGrace())
                        .advanceBy(thresholds.lossWindowAdvance()))
                .aggregate(LossAccumulator::empty, (key, step, acc) -> acc.add(step),
                        Named.as("loss-ratio-aggregate"),
                        Materialized.<String, LossAccumulator, WindowStore<Bytes, byte[]>>as(WINDOW_STORE)
                                .withKeySerde(Serdes.String())
                                .withValueSerde(StateBytes.lossAccumulator()))
                .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()).withName("loss-ratio-closed"))
                .toStream(Named.as("loss-ratio-closed-windows"))
                .process(() -> new LossWindowEmitter(STATE_STORE, LATE_STORE, thresholds),
                        Named.as("loss-ratio-emitter"), STATE_STORE, LATE_STORE);

        emissions.filter((key, e) -> e.isEvent(), Named.as("loss-ratio-events"))
                .mapValues(Emission::event, Named.as("loss-ratio-event-values"))
                .to(topics.monitors(), Produced.with(Serdes.String(), serdes.monitorEvent())
                        .withName("loss-ratio-monitor-events"));
        emissions.filter((key, e) -> e.isAlert(), Named.as("loss-ratio-alerts"))
                .<Alert>mapValues(Emission::alert, Named.as("loss-ratio-alert-values"))
                .to(topics.alerts(), Produced.with(Serdes.String(), serdes.alert())
                        .withName("loss-ratio-band-alerts"));
    }

    static StoreBuilder<KeyValueStore<String, Long>> longStore(String name) {
        return Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(name), Serdes.String(), Serdes.Long());
    }
}
