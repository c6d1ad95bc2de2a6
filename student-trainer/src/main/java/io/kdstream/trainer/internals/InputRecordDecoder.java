package io.kdstream.trainer.internals;

import io.kdstream.core.data.LabelSelection;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.InputRecord;
import io.kdstream.core.djl.TensorBridge;
import io.kdstream.core.kafka.BadRecordException;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.Deserializer;

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

    public InputRecordDecoder(Deserializer<InputRecord> deserializer, int inputSize, int classes, LabelSelection labels) {
        this.deserializer = Objects.requireNonNull(deserializer, "deserializer");
        this.inputSize = inputSize;
        this.classes = classes;
        this.labels = Objects.requireNonNull(labels, "labels");
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
        return new Example(record.partition(), record.offset(), input, used, null, null);
    }
}
