package io.kdstream.ops.ingest;

import io.kdstream.avro.InputRecord;
import io.kdstream.core.KdException;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.data.LabelSelection;
import io.kdstream.schemas.tensor.TensorCodec;

import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongConsumer;

/**
 * Publishes Fashion-MNIST images to the inputs topic: one {@link InputRecord} per image, keyed by its stable id
 * ({@code fmnist-train-00042}, UTF-8), holding a UINT8 [rows, cols] tensor, the label, the source
 * ({@code fashion-mnist/train}) and the attributes {@code split} and {@code index}.
 *
 * <p>Sends are asynchronous; {@link #ingest} flushes and fails if any send failed, naming the count and the first
 * reason, so no image is dropped silently. Use an idempotent producer ({@code enable.idempotence=true, acks=all}) so
 * retries never duplicate a record.
 */
public final class FashionMnistIngest {

    private static final Logger LOGGER = LoggerFactory.getLogger(FashionMnistIngest.class);

    private final Producer<byte[], byte[]> producer;
    private final Serializer<InputRecord> serializer;
    private final String topic;
    private final Clock clock;
    private LabelSelection labels = LabelSelection.ALL;

    /** What one call of {@link #ingest} produced; {@code labelled} of the records carry a label. */
    public record Result(String source, long records, long bytes, double seconds, long labelled) {
        public Result {
            Objects.requireNonNull(source, "source");
            if (records < 0 || bytes < 0 || seconds < 0 || labelled < 0 || labelled > records) {
                throw new IllegalArgumentException("negative result: " + records + " records, " + bytes + " bytes, "
                        + seconds + " s");
            }
        }

        public double recordsPerSecond() {
            return seconds > 0 ? records / seconds : 0.0;
        }
    }

    public FashionMnistIngest(Producer<byte[], byte[]> producer, Serializer<InputRecord> serializer, String topic) {
        this(producer, serializer, topic, Clock.systemUTC());
    }

    FashionMnistIngest(Producer<byte[], byte[]> producer, Serializer<InputRecord> serializer, String topic, Clock clock) {
        this.producer = Objects.requireNonNull(producer, "producer");
        this.serializer = Objects.requireNonNull(serializer, "serializer");
        this.topic = Objects.requireNonNull(topic, "topic");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Publishes training images without their label unless {@code selection} keeps it (a fixed function of the image id
     * and the selection's seed), so the inputs topic looks like a production stream in which most inputs carry no
     * label. Test images always keep their label: they score students. Default: every image keeps its label.
     */
    public FashionMnistIngest withLabels(LabelSelection selection) {
        this.labels = Objects.requireNonNull(selection, "selection");
        return this;
    }

    /** The record for image {@code i} of {@code data}, stamped with {@code timestampMs}. */
    public static InputRecord toRecord(FashionMnist data, int i, long timestampMs) {
        return toRecord(data, i, timestampMs, LabelSelection.ALL);
    }

    /** As above; a training image whose label {@code labels} drops is published without one. */
    public static InputRecord toRecord(FashionMnist data, int i, long timestampMs, LabelSelection labels) {
        String id = data.id(i);
        boolean keep = data.split() == FashionMnist.Split.TEST || labels.keeps(id);
        return InputRecord.newBuilder()
                .setId(id)
                .setSource(data.source())
                .setInput(TensorCodec.fromUint8(data.image(i), data.rows(), data.cols()))
                .setLabel(keep ? data.label(i) : null)
                .setLabels(null)
                .setTimestampMs(java.time.Instant.ofEpochMilli(timestampMs))
                .setAttributes(Map.of("split", data.split().id(), "index", Integer.toString(i)))
                .build();
    }

    /**
     * Sends the first {@code limit} images of {@code data} (all when {@code limit <= 0}) and waits until every one is
     * acknowledged.
     *
     * @param progress told the number of newly acknowledged records, from the caller's thread
     * @throws KdException when a record cannot be serialised or a send fails
     */
    public Result ingest(FashionMnist data, int limit, LongConsumer progress) {
        int count = limit <= 0 ? data.size() : Math.min(limit, data.size());
        long startNanos = System.nanoTime();
        AtomicLong acked = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicReference<Exception> firstFailure = new AtomicReference<>();
        long bytes = 0;
        long reported = 0;
        long labelled = 0;
        for (int i = 0; i < count; i++) {
            InputRecord record = toRecord(data, i, clock.millis(), labels);
            if (record.getLabel() != null) {
                labelled++;
            }
            byte[] value;
            try {
                value = serializer.serialize(topic, record);
            } catch (RuntimeException e) {
                throw new KdException("cannot serialise " + record.getId() + " for " + topic + ": " + e.getMessage(), e);
            }
            byte[] key = record.getId().getBytes(StandardCharsets.UTF_8);
            bytes += key.length + value.length;
            producer.send(new ProducerRecord<>(topic, key, value), (metadata, exception) -> {
                if (exception == null) {
                    acked.incrementAndGet();
                } else {
                    failed.incrementAndGet();
                    firstFailure.compareAndSet(null, exception);
                }
            });
            if (failed.get() > 0) {
                break;
            }
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
            throw new KdException(failed.get() + " of " + count + " " + data.source() + " records could not be sent to "
                    + topic + " (" + total + " acknowledged); first failure: " + cause.getMessage(), cause);
        }
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        LOGGER.debug("Ingested source={} topic={} records={} bytes={} seconds={}", data.source(), topic, total, bytes, seconds);
        return new Result(data.source(), total, bytes, seconds, labelled);
    }
}
