package io.kdstream.trainer.source;

import io.kdstream.core.data.LabelSelection;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.InputRecord;
import io.kdstream.core.djl.TensorBridge;
import io.kdstream.core.kafka.BadRecordException;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.Deserializer;

import java.util.List;
import java.util.Objects;

/**
 * Turns an {@code InputRecord} of the inputs topic into an {@link Example} for a run whose only teacher is the EMA of
 * the student. A record without a label, or whose label the {@link LabelSelection} drops, trains as unlabelled
 * (label {@code -1}); a record that cannot be trained on at all throws the exception that classifies why (undecodable
 * bytes, wrong size, label out of range, non-finite input). Not thread-safe: one per reader.
 */
public final class InputRecordDecoder implements RecordDecoder {
    /** The label of an example that trains without one. */
    public static final int UNLABELLED = -1;

    private final Deserializer<InputRecord> deserializer;
    private final int inputSize;
    private final int classes;
    private final LabelSelection labels;
    private final List<Integer> inputShape;

    public InputRecordDecoder(Deserializer<InputRecord> deserializer, int inputSize, int classes, LabelSelection labels) {
        this(deserializer, inputSize, classes, labels, null);
    }

    /**
     * As above; with {@code inputShape} (not null) a record's input must also have that shape (an {@code [H, W]}
     * input fits {@code [1, H, W]}), else any shape of {@code inputSize} elements is taken.
     */
    public InputRecordDecoder(Deserializer<InputRecord> deserializer, int inputSize, int classes, LabelSelection labels,
                              List<Integer> inputShape) {
        this.inputShape = inputShape == null ? null : List.copyOf(inputShape);
        this.deserializer = Objects.requireNonNull(deserializer, "deserializer");
        this.inputSize = inputSize;
        this.classes = classes;
        this.labels = Objects.requireNonNull(labels, "labels");
    }

    /**
     * Whether an input of shape {@code actual} fits a student taking {@code expected}: the same shape, or
     * {@code [H, W]} for {@code [1, H, W]}.
     */
    public static boolean fits(List<Integer> actual, List<Integer> expected) {
        if (actual.equals(expected)) {
            return true;
        }
        return expected.size() == 3 && expected.get(0) == 1 && actual.equals(expected.subList(1, 3));
    }

    /** Throws the SHAPE failure of input {@code id} when {@code expected} is set and {@code actual} does not fit it. */
    static void requireShape(List<Integer> expected, List<Integer> actual, Object id) {
        if (expected != null && !fits(actual, expected)) {
            throw new BadRecordException(FailureKind.SHAPE, "input " + id + " has shape " + actual + ", the student takes "
                    + expected);
        }
    }

    @Override
    public Example decode(ConsumerRecord<byte[], byte[]> record) {
        if (record.value() == null) {
            throw new BadRecordException(FailureKind.DESERIALIZATION, "record has no value (tombstone) where an InputRecord was expected");
        }
        InputRecord in = deserializer.deserialize(record.topic(), record.headers(), record.value());
        if (in == null) {
            throw new BadRecordException(FailureKind.DESERIALIZATION, "no InputRecord in the value");
        }
        if (in.getInput() == null) {
            throw new BadRecordException(FailureKind.SHAPE, "input " + in.getId() + " carries no input tensor");
        }
        requireShape(inputShape, in.getInput().getShape(), in.getId());
        float[] input = new float[inputSize];
        TensorBridge.toModelInput("input", in.getInput(), inputSize, input, 0);
        for (float v : input) {
            if (!Float.isFinite(v)) {
                throw new BadRecordException(FailureKind.NON_FINITE, "input " + in.getId() + " contains NaN or infinite values");
            }
        }
        Integer label = in.getLabel();
        if (label != null && (label < 0 || label >= classes)) {
            throw new BadRecordException(FailureKind.SHAPE, "label " + label + " of input " + in.getId() + " outside [0, "
                    + classes + ")");
        }
        int used = label == null || !labels.keeps(String.valueOf(in.getId())) ? UNLABELLED : label;
        return new Example(record.partition(), record.offset(), input, null, used, null);
    }
}
