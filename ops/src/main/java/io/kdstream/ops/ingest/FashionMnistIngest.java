package io.kdstream.ops.ingest;

import io.kdstream.avro.InputRecord;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.data.LabelSelection;
import io.kdstream.schemas.tensor.TensorCodec;

import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.serialization.Serializer;

import java.time.Clock;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.function.LongConsumer;

/**
 * Publishes Fashion-MNIST images to the inputs topic: one {@link InputRecord} per image, keyed by its stable id
 * ({@code fmnist-train-00042}, UTF-8), holding a UINT8 [rows, cols] tensor, the label, the source
 * ({@code fashion-mnist/train}) and the attributes {@code split} and {@code index}.
 *
 * <p>Sending goes through {@link InputPublisher}: {@link #ingest} flushes and fails if any send failed, naming the
 * count and the first reason, so no image is dropped silently. Use an idempotent producer
 * ({@code enable.idempotence=true, acks=all}) so retries never duplicate a record.
 */
public final class FashionMnistIngest {

    private final InputPublisher publisher;
    private final Clock clock;
    private LabelSelection labels = LabelSelection.ALL;

    public FashionMnistIngest(Producer<byte[], byte[]> producer, Serializer<InputRecord> serializer, String topic) {
        this(producer, serializer, topic, Clock.systemUTC());
    }

    FashionMnistIngest(Producer<byte[], byte[]> producer, Serializer<InputRecord> serializer, String topic, Clock clock) {
        this.publisher = new InputPublisher(producer, serializer, topic);
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
     * @throws io.kdstream.core.KdException when a record cannot be serialised or a send fails
     */
    public IngestResult ingest(FashionMnist data, int limit, LongConsumer progress) {
        int count = limit <= 0 ? data.size() : Math.min(limit, data.size());
        Iterator<InputRecord> records = new Iterator<>() {
            private int next;

            @Override
            public boolean hasNext() {
                return next < count;
            }

            @Override
            public InputRecord next() {
                if (next >= count) {
                    throw new NoSuchElementException();
                }
                return toRecord(data, next++, clock.millis(), labels);
            }
        };
        return publisher.publish(data.source(), count, records, progress);
    }
}
