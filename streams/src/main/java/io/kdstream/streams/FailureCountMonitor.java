package io.kdstream.streams;

import io.kdstream.avro.FailureEvent;
import io.kdstream.streams.internals.Alerts;
import io.kdstream.streams.internals.ClosingWindows;
import io.kdstream.streams.internals.EventTimestamps;
import io.kdstream.streams.internals.FailureWindowEmitter;
import io.kdstream.streams.internals.StateBytes;
import io.kdstream.streams.internals.SubjectKey;
import io.kdstream.streams.internals.WindowResult;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.Stores;

import java.time.Duration;

/**
 * The failure-count monitor. Per component and failure kind, over tumbling event-time windows of
 * {@code FailureEvent.timestampMs}: the count of dead-lettered records. Raises one alert per window as soon as the
 * count reaches the threshold, and publishes a MonitorEvent per closed window; windows close in stream time and in
 * quiet periods (see {@link ClosingWindows}). Failures too late for their window are dropped from the windows and
 * counted.
 */
public final class FailureCountMonitor {

    /** Window store of the counts (String subject key to Long). */
    public static final String WINDOW_STORE = "failure-count-windows";
    /** Per-subject progress of the published windows, and the task's close time. */
    public static final String PROGRESS_STORE = "failure-count-window-progress";
    /** Per-subject count of failures dropped as too late. */
    public static final String LATE_STORE = "failure-count-late-records";

    private FailureCountMonitor() {
    }

    /** Adds the monitor, reading the dead-letter topic. */
    public static void build(StreamsBuilder builder, MonitorTopics topics, Thresholds thresholds,
                             MonitorSerdes serdes) {
        long window = thresholds.failureWindow().toMillis();
        long grace = thresholds.failureGrace().toMillis();
        long threshold = thresholds.failureThreshold();
        builder.addStateStore(LossRatioMonitor.longStore(LATE_STORE));
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(PROGRESS_STORE),
                Serdes.String(), StateBytes.windowProgress()));
        builder.addStateStore(Stores.windowStoreBuilder(Stores.persistentWindowStore(WINDOW_STORE,
                Duration.ofMillis(2 * window + grace), Duration.ofMillis(window), false), Serdes.String(),
                Serdes.Long()));

        // Every increment is forwarded, so "count == threshold" happens exactly once per window.
        ClosingWindows.Spec spec = new ClosingWindows.Spec("failure-count", window, window, grace,
                thresholds.closeWindowsWhenIdle(), thresholds.windowCheckInterval(), true);
        ClosingWindows.Stores stores = new ClosingWindows.Stores(WINDOW_STORE, PROGRESS_STORE, LATE_STORE, null);
        KStream<Windowed<String>, WindowResult<Long>> counts = builder
                .stream(topics.dlq(), Consumed.with(Serdes.String(), serdes.failureEvent())
                        .withTimestampExtractor(new EventTimestamps())
                        .withName("dlq-source"))
                .filter((key, failure) -> failure != null, Named.as("dlq-skip-tombstones"))
                .selectKey((key, failure) -> new SubjectKey(failure.getComponent(), failure.getKind().name())
                        .encode(), Named.as("failure-count-key-by-component-kind"))
                .repartition(Repartitioned.with(Serdes.String(), serdes.failureEvent())
                        .withName("failure-count-by-component-kind"))
                .process(() -> new ClosingWindows<FailureEvent, Long>(spec, stores, () -> 0L,
                        (count, failure) -> count + 1, null), Named.as("failure-count-windows"), WINDOW_STORE,
                        PROGRESS_STORE, LATE_STORE);

        counts.filter((key, result) -> !result.closed() && result.value() == threshold,
                        Named.as("failure-count-at-threshold"))
                .map((key, result) -> {
                    SubjectKey subject = SubjectKey.decode(key.key());
                    return KeyValue.pair(subject.first(), Alerts.failureThreshold(subject, result.value(), threshold,
                            key.window().start(), key.window().end()));
                }, Named.as("failure-count-alert"))
                .to(topics.alerts(), Produced.with(Serdes.String(), serdes.alert())
                        .withName("failure-count-alerts"));

        counts.filter((key, result) -> result.closed(), Named.as("failure-count-closed-windows"))
                .mapValues(WindowResult::value, Named.as("failure-count-closed-values"))
                .process(() -> new FailureWindowEmitter(LATE_STORE), Named.as("failure-count-emitter"), LATE_STORE)
                .to(topics.monitors(), Produced.with(Serdes.String(), serdes.monitorEvent())
                        .withName("failure-count-monitor-events"));
    }
}
