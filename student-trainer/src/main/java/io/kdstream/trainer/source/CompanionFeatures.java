package io.kdstream.trainer.source;

import io.kdstream.avro.FailureKind;
import io.kdstream.avro.SourceCoordinates;
import io.kdstream.avro.TeacherFeatures;
import io.kdstream.core.kafka.BadRecordException;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Reads the teacher's feature maps from the companion features topic by the coordinates a teacher output names
 * ({@code TeacherOutput.featuresRef}): the teacher writes the feature record first, learns its offset, and commits both
 * in one transaction, so a committed output always names a committed feature record, and the join is exact by
 * construction (no matching by key or time).
 *
 * <p>The outputs of one partition name feature records of one partition in nearly the same order (they differ only
 * where two teacher workers' transactions interleave), so the reader reads each features partition forward from the
 * first offset asked for and keeps the last {@code window} records of it: a run over the outputs costs one sequential
 * read of the features it uses. A lookup behind the window, or far ahead of it, seeks. Only the partition being looked up
 * is fetched (the others are paused), so the window bounds memory.
 *
 * <p>A record that cannot be found (aborted, deleted by retention, or another topic's offset) or decoded is a bad
 * record of the output that named it: {@link BadRecordException}, dead-lettered by the caller. Not thread-safe: one per
 * reader thread.
 */
public final class CompanionFeatures implements AutoCloseable {
    /** Records kept per features partition by default. */
    public static final int DEFAULT_WINDOW = 1024;
    private static final Duration POLL = Duration.ofMillis(100);

    private final Supplier<Consumer<byte[], byte[]>> consumers;
    private final Deserializer<TeacherFeatures> deserializer;
    private final int window;
    private final long timeoutMs;
    private final Map<TopicPartition, NavigableMap<Long, ConsumerRecord<byte[], byte[]>>> windows = new HashMap<>();
    private final Set<TopicPartition> assigned = new HashSet<>();
    private Consumer<byte[], byte[]> consumer;
    private long lookups;
    private long seeks;

    /**
     * @param consumers    makes the (read_committed) consumer, on first use
     * @param window       records kept per partition
     * @param timeoutMs    how long a lookup waits for a record not yet readable (e.g. behind another producer's open
     *                     transaction) before it counts as missing
     */
    public CompanionFeatures(Supplier<Consumer<byte[], byte[]>> consumers, Deserializer<TeacherFeatures> deserializer,
                             int window, long timeoutMs) {
        this.consumers = Objects.requireNonNull(consumers, "consumers");
        this.deserializer = Objects.requireNonNull(deserializer, "deserializer");
        if (window < 1) {
            throw new IllegalArgumentException("window must be at least 1, got " + window);
        }
        this.window = window;
        this.timeoutMs = timeoutMs;
    }

    /**
     * The feature record at {@code ref}.
     *
     * @throws BadRecordException when there is no readable record at {@code ref} within the timeout, or it does not
     *                            decode
     */
    public TeacherFeatures fetch(SourceCoordinates ref) {
        lookups++;
        TopicPartition tp = new TopicPartition(ref.getTopic(), ref.getPartition());
        long offset = ref.getOffset();
        NavigableMap<Long, ConsumerRecord<byte[], byte[]>> w = windows.computeIfAbsent(tp, k -> new TreeMap<>());
        ConsumerRecord<byte[], byte[]> r = w.get(offset);
        if (r == null) {
            if (!w.isEmpty() && offset >= w.firstKey() && offset <= w.lastKey()) {
                // read contiguously through this range: the offset holds no committed data record
                throw missing(ref, "no committed record there");
            }
            r = read(tp, offset, w, ref);
        }
        try {
            TeacherFeatures f = deserializer.deserialize(r.topic(), r.headers(), r.value());
            if (f == null) {
                throw new BadRecordException(FailureKind.DESERIALIZATION, "feature record " + where(ref) + " has no value");
            }
            return f;
        } catch (BadRecordException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new BadRecordException(FailureKind.DESERIALIZATION, "feature record " + where(ref) + " does not decode: "
                    + e.getMessage(), e);
        }
    }

    /** Lookups so far, and how many of them had to seek (a cold start, or an order far from the outputs'). */
    public long lookups() {
        return lookups;
    }

    public long seeks() {
        return seeks;
    }

    private ConsumerRecord<byte[], byte[]> read(TopicPartition tp, long offset,
                                                NavigableMap<Long, ConsumerRecord<byte[], byte[]>> w, SourceCoordinates ref) {
        Consumer<byte[], byte[]> c = consumer();
        if (assigned.add(tp)) {
            c.assign(new ArrayList<>(assigned));
            seek(c, tp, offset, w);
        } else {
            long position = c.position(tp);
            if (offset < position || offset - position > window) {
                seek(c, tp, offset, w);
            }
        }
        List<TopicPartition> others = assigned.stream().filter(p -> !p.equals(tp)).toList();
        c.pause(others);
        c.resume(List.of(tp));
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (true) {
            ConsumerRecord<byte[], byte[]> found = null;
            for (ConsumerRecord<byte[], byte[]> rec : c.poll(POLL).records(tp)) {
                w.put(rec.offset(), rec);
                if (rec.offset() == offset) {
                    found = rec;
                }
                if (w.size() > window) {
                    w.pollFirstEntry();
                }
            }
            if (found != null) {
                return found;
            }
            if ((!w.isEmpty() && w.lastKey() > offset) || c.position(tp) > offset) {
                throw missing(ref, "no committed record there");
            }
            if (System.currentTimeMillis() > deadline) {
                throw missing(ref, "not readable within " + timeoutMs + " ms");
            }
        }
    }

    private void seek(Consumer<byte[], byte[]> c, TopicPartition tp, long offset, NavigableMap<Long, ?> w) {
        seeks++;
        w.clear();
        c.seek(tp, offset);
    }

    private Consumer<byte[], byte[]> consumer() {
        if (consumer == null) {
            consumer = consumers.get();
        }
        return consumer;
    }

    private static BadRecordException missing(SourceCoordinates ref, String why) {
        return new BadRecordException(FailureKind.DESERIALIZATION, "the teacher output names feature record " + where(ref)
                + " but it cannot be read (" + why + "): deleted by retention, or the features topic was replaced?");
    }

    private static String where(SourceCoordinates ref) {
        return ref.getTopic() + "-" + ref.getPartition() + "@" + ref.getOffset();
    }

    @Override
    public void close() {
        if (consumer != null) {
            consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5)));
            consumer = null;
        }
    }
}
