package io.kdstream.ops.ingest;

import io.kdstream.avro.InputRecord;
import io.kdstream.core.KdException;

import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongConsumer;

/**
 * Publishes {@link InputRecord}s to the inputs topic, keyed by their id (UTF-8): what every ingest (Fashion-MNIST,
 * NumPy files, image folders) shares.
 *
 * <p>Sends are asynchronous; {@link #publish} flushes and fails if any send failed, naming the count and the first
 * reason, so no record is dropped silently. Use an idempotent producer ({@code enable.idempotence=true, acks=all}) so
 * retries never duplicate a record.
 */
public final class InputPublisher {

    private static final Logger LOGGER = LoggerFactory.getLogger(InputPublisher.class);

    private final Producer<byte[], byte[]> producer;
    private final Serializer<InputRecord> serializer;
    private final String topic;

    public InputPublisher(Producer<byte[], byte[]> producer, Serializer<InputRecord> serializer, String topic) {
        this.producer = Objects.requireNonNull(producer, "producer");
        this.serializer = Objects.requireNonNull(serializer, "serializer");
        this.topic = Objects.requireNonNull(topic, "topic");
    }

    public String topic() {
        return topic;
    }

    /** The producer the records go through (a dead-letter publisher of the same ingest sends through it too). */
    public Producer<byte[], byte[]> producer() {
        return producer;
    }

    /**
     * Sends every record {@code records} yields, in order, and waits until every one is acknowledged.
     *
     * @param source   names the records in messages and in the result
     * @param expected how many records {@code records} yields (for messages only)
     * @param progress told the number of newly acknowledged records, from the caller's thread
     * @throws KdException when a record cannot be serialised or a send fails
     */
    public IngestResult publish(String source, long expected, Iterator<InputRecord> records, LongConsumer progress) {
        long startNanos = System.nanoTime();
        AtomicLong acked = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicReference<Exception> firstFailure = new AtomicReference<>();
        long bytes = 0;
        long reported = 0;
        long labelled = 0;
        while (records.hasNext() && failed.get() == 0) {
            InputRecord record = records.next();
            if (record.getLabel() != null) {
                labelled++;
            }
            bytes += send(record, acked, failed, firstFailure);
            long now = acked.get();
            if (now > reported) {
                progress.accept(now - reported);
                reported = now;
            }
        }
        producer.flush();
        long total = acked.get();
        if (total > reported) {
            progress.accept(total - reported);
        }
        if (failed.get() > 0) {
            Exception cause = firstFailure.get();
            throw new KdException(failed.get() + " of " + expected + " " + source + " records could not be sent to "
                    + topic + " (" + total + " acknowledged); first failure: " + cause.getMessage(), cause);
        }
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        LOGGER.debug("Ingested source={} topic={} records={} bytes={} seconds={}", source, topic, total, bytes, seconds);
        return new IngestResult(source, total, bytes, seconds, labelled);
    }

    /** Sends one record asynchronously; returns its key and value size. */
    private long send(InputRecord record, AtomicLong acked, AtomicLong failed, AtomicReference<Exception> firstFailure) {
        byte[] value;
        try {
            value = serializer.serialize(topic, record);
        } catch (RuntimeException e) {
            throw new KdException("cannot serialise " + record.getId() + " for " + topic + ": " + e.getMessage(), e);
        }
        byte[] key = record.getId().getBytes(StandardCharsets.UTF_8);
        producer.send(new ProducerRecord<>(topic, key, value), (metadata, exception) -> {
            if (exception == null) {
                acked.incrementAndGet();
            } else {
                failed.incrementAndGet();
                firstFailure.compareAndSet(null, exception);
            }
        });
        return key.length + value.length;
    }
}
