package io.kdstream.streams.internals;

import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sits in front of a windowed aggregation and takes out the records that are too late for every window they belong
 * to (the newest such window ended at least the grace period before the observed stream time), counting them per key
 * in a store instead of letting the aggregation drop them unseen. Records late for only some of their hopping
 * windows pass: the aggregation counts them in the windows still open. The observed stream time is the largest
 * timestamp this processor has seen, tracked the same way as Kafka's window aggregation tracks it, so both agree on
 * which records are too late.
 *
 * @param <V> record value
 */
public final class LateRecordGate<V> implements FixedKeyProcessor<String, V, V> {

    private static final Logger LOGGER = LoggerFactory.getLogger(LateRecordGate.class);

    private final String storeName;
    private final String monitor;
    private final long sizeMs;
    private final long advanceMs;
    private final long graceMs;
    private FixedKeyProcessorContext<String, V> context;
    private KeyValueStore<String, Long> lateCounts;
    private long observedStreamTime = Long.MIN_VALUE;

    /**
     * @param storeName key-value store (String to Long) of the late counts
     * @param monitor   monitor name, for logs
     * @param sizeMs    window size
     * @param advanceMs window advance (the size for tumbling windows)
     * @param graceMs   grace period
     */
    public LateRecordGate(String storeName, String monitor, long sizeMs, long advanceMs, long graceMs) {
        this.storeName = storeName;
        this.monitor = monitor;
        this.sizeMs = sizeMs;
        this.advanceMs = advanceMs;
        this.graceMs = graceMs;
    }

    @Override
    public void init(FixedKeyProcessorContext<String, V> context) {
        this.context = context;
        this.lateCounts = context.getStateStore(storeName);
    }

    /** End of the newest window that contains {@code timestamp}. */
    public static long newestWindowEnd(long timestamp, long sizeMs, long advanceMs) {
        return timestamp - Math.floorMod(timestamp, advanceMs) + sizeMs;
    }

    /** Whether a record at {@code timestamp} is too late for every window at {@code streamTime}. */
    public static boolean isTooLate(long timestamp, long streamTime, long sizeMs, long advanceMs, long graceMs) {
        return newestWindowEnd(timestamp, sizeMs, advanceMs) <= streamTime - graceMs;
    }

    @Override
    public void process(FixedKeyRecord<String, V> record) {
        long streamTime = observedStreamTime;
        if (streamTime == Long.MIN_VALUE
                || !isTooLate(record.timestamp(), streamTime, sizeMs, advanceMs, graceMs)) {
            observedStreamTime = Math.max(observedStreamTime, record.timestamp());
            context.forward(record);
            return;
        }
        Long previous = lateCounts.get(record.key());
        long count = previous == null ? 1 : previous + 1;
        lateCounts.put(record.key(), count);
        if (count == 1 || count % 1000 == 0) {
            LOGGER.info("late records dropped monitor={} key={} count={} lastTimestampMs={} streamTimeMs={} "
                    + "graceMs={}", monitor, record.key(), count, record.timestamp(), streamTime, graceMs);
        } else {
            LOGGER.debug("late record dropped monitor={} key={} timestampMs={} streamTimeMs={}", monitor,
                    record.key(), record.timestamp(), streamTime);
        }
    }
}
