package io.kdstream.streams;

import io.kdstream.avro.Alert;
import io.kdstream.avro.TrainingStep;
import io.kdstream.streams.internals.ClosingWindows;
import io.kdstream.streams.internals.Emission;
import io.kdstream.streams.internals.EventTimestamps;
import io.kdstream.streams.internals.LossAccumulator;
import io.kdstream.streams.internals.LossWindowEmitter;
import io.kdstream.streams.internals.NonFiniteDetector;
import io.kdstream.streams.internals.StateBytes;
import io.kdstream.streams.internals.SubjectKey;
import io.kdstream.streams.internals.WindowResult;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

import java.time.Duration;

/**
 * The loss-ratio monitor. Per run and trainer, over hopping event-time windows of {@code TrainingStep.timestampMs}:
 * sum(KD loss) / sum(task loss), the mean total loss and its trend (least-squares slope against step), and a moving
 * average of the ratio across windows. Publishes a MonitorEvent per closed window to the monitors topic; raises an
 * alert when the ratio stays on one side outside the band for M consecutive windows (once per breach, resolved when
 * it comes back), and at once when a step reports a non-finite loss (at most once per window size per trainer).
 * Steps too late for every window (beyond the grace period) are dropped from the windows and counted. Windows close
 * in stream time, in quiet periods (wall clock) and when their run ends: see {@link ClosingWindows}.
 */
public final class LossRatioMonitor {

    /** Window store of the open and recent windows (String subject key to {@link LossAccumulator}). */
    public static final String WINDOW_STORE = "loss-ratio-windows";
    /** Per-subject ratio state across windows: moving average, streak, firing alert. */
    public static final String STATE_STORE = "loss-ratio-state";
    /** Per-subject progress of the published windows, and the task's close time. */
    public static final String PROGRESS_STORE = "loss-ratio-window-progress";
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

    /** Adds the monitor, reading the metrics topic itself; windows close in stream time and in quiet periods. */
    public static void build(StreamsBuilder builder, MonitorTopics topics, Thresholds thresholds,
                             MonitorSerdes serdes) {
        build(builder, metrics(builder, topics, serdes), topics, thresholds, serdes, null);
    }

    /**
     * Adds the monitor on an existing TrainingStep stream (one topic can be a source only once per topology). With
     * {@code runsStore} (the global store of ended runs, see {@link RunEnds}) an ended run's last windows are
     * published without waiting for them to close; null leaves that out.
     */
    public static void build(StreamsBuilder builder, KStream<String, TrainingStep> steps, MonitorTopics topics,
                             Thresholds thresholds, MonitorSerdes serdes, String runsStore) {
        long size = thresholds.lossWindowSize().toMillis();
        long advance = thresholds.lossWindowAdvance().toMillis();
        long grace = thresholds.lossWindowGrace().toMillis();
        builder.addStateStore(longStore(LATE_STORE));
        builder.addStateStore(longStore(NON_FINITE_STORE));
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STATE_STORE),
                Serdes.String(), StateBytes.lossRatioState()));
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(PROGRESS_STORE),
                Serdes.String(), StateBytes.windowProgress()));
        builder.addStateStore(Stores.windowStoreBuilder(Stores.persistentWindowStore(WINDOW_STORE,
                Duration.ofMillis(2 * size + grace), Duration.ofMillis(size), false), Serdes.String(),
                StateBytes.lossAccumulator()));

        KStream<String, TrainingStep> bySubject = steps
                .selectKey((key, step) -> new SubjectKey(step.getRunId(), step.getTrainerId()).encode(),
                        Named.as("loss-ratio-key-by-run-trainer"))
                .repartition(Repartitioned.with(Serdes.String(), serdes.trainingStep())
                        .withName("loss-ratio-by-run-trainer"));

        bySubject.process(() -> new NonFiniteDetector(NON_FINITE_STORE, size), Named.as("loss-ratio-non-finite"),
                        NON_FINITE_STORE)
                .to(topics.alerts(), Produced.with(Serdes.String(), serdes.alert())
                        .withName("loss-ratio-non-finite-alerts"));

        ClosingWindows.Spec spec = new ClosingWindows.Spec("loss-ratio", size, advance, grace,
                thresholds.closeWindowsWhenIdle(), thresholds.windowCheckInterval(), false);
        ClosingWindows.Stores stores = new ClosingWindows.Stores(WINDOW_STORE, PROGRESS_STORE, LATE_STORE, runsStore);
        KStream<String, Emission> emissions = bySubject
                .process(() -> new ClosingWindows<TrainingStep, LossAccumulator>(spec, stores, LossAccumulator::empty,
                                LossAccumulator::add, subject -> SubjectKey.decode(subject).first()),
                        Named.as("loss-ratio-windows"), WINDOW_STORE, PROGRESS_STORE, LATE_STORE)
                .filter((window, result) -> result.closed(), Named.as("loss-ratio-closed-windows"))
                .mapValues(WindowResult::value, Named.as("loss-ratio-closed-values"))
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
