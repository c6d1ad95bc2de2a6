package io.kdstream.streams;

import io.kdstream.avro.FailureEvent;
import io.kdstream.streams.internals.Alerts;
import io.kdstream.streams.internals.EventTimestamps;
import io.kdstream.streams.internals.FailureWindowEmitter;
import io.kdstream.streams.internals.LateRecordGate;
import io.kdstream.streams.internals.SubjectKey;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.Suppressed.BufferConfig;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The failure-count monitor. Per component and failure kind, over tumbling event-time windows of
 * {@code FailureEvent.timestampMs}: the count of dead-lettered records. Raises one alert per window as soon as the
 * count reaches the threshold, and publishes a MonitorEvent per closed window. Failures too late for their window are
 * dropped from the windows and counted.
 */
public final class FailureCountMonitor {

    /** Window store of the counts (String subject key to Long). */
    public static final String WINDOW_STORE = "failure-count-windows";
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

        // Caching off: every increment reaches the threshold check, so "count == threshold" happens exactly once.
        KTable<Windowed<String>, Long> counts = builder
                .stream(topics.dlq(), Consumed.with(Serdes.String(), serdes.failureEvent())
                        .withTimestampExtractor(new EventTimestamps())
                        .withName("dlq-source"))
                .filter((key, failure) -> failure != null, Named.as("dlq-skip-tombstones"))
                .selectKey((key, failure) -> new SubjectKey(failure.getComponent(), failure.getKind().name())
                        .encode(), Named.as("failure-count-key-by-component-kind"))
                .repartition(Repartitioned.with(Serdes.String(), serdes.failureEvent())
                        .withName("failure-count-by-component-kind"))
                .processValues(() -> new LateRecordGate<FailureEvent>(LATE_STORE, "failure-count", window, window,
                        grace), Named.as("failure-count-late-gate"), LATE_STORE)
                .groupByKey(Grouped.with(Serdes.String(), serdes.failureEvent()))
                .windowedBy(TimeWindows.ofSizeAndGrace(thresholds.failureWindow(), thresholds.failureGrace()))
                .count(Named.as("failure-count-aggregate"),
                        Materialized.<String, Long, WindowStore<Bytes, byte[]>>as(WINDOW_STORE)
                                .withKeySerde(Serdes.String())
                                .withValueSerde(Serdes.Long())
                                .withCachingDisabled());

        counts.toStream(Named.as("failure-count-updates"))
                .filter((key, count) -> count != null && count == threshold, Named.as("failure-count-at-threshold"))
                .map((key, count) -> {
                    SubjectKey subject = SubjectKey.decode(key.key());
                    return KeyValue.pair(subject.first(), Alerts.failureThreshold(subject, count, threshold,
                            key.window().start(), key.window().end()));
                }, Named.as("failure-count-alert"))
                .to(topics.alerts(), Produced.with(Serdes.String(), serdes.alert())
                        .withName("failure-count-alerts"));

        counts.suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()).withName("failure-count-closed"))
                .toStream(Named.as("failure-count-closed-windows"))
                .process(() -> new FailureWindowEmitter(LATE_STORE), Named.as("failure-count-emitter"), LATE_STORE)
                .to(topics.monitors(), Produced.with(Serdes.String(), serdes.monitorEvent())
                        .withName("failure-count-monitor-events"));
    }
}
