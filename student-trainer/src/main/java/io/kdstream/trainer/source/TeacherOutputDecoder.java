package io.kdstream.trainer.source;

import io.kdstream.core.data.LabelSelection;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.FeatureMap;
import io.kdstream.avro.Logits;
import io.kdstream.avro.TeacherFeatures;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.core.data.ViewNumber;
import io.kdstream.core.djl.TensorBridge;
import io.kdstream.core.kafka.BadRecordException;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.trainer.loss.FeatureDescriptor;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.Deserializer;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Turns a teacher-output record into an {@link Example}, or throws the exception that classifies why it cannot be
 * trained on (undecodable bytes, wrong shape, label out of range, non-finite values). Not thread-safe: one per reader.
 *
 * <p>A record without a label (or whose label the {@link LabelSelection} drops) trains on the distillation terms alone
 * (label {@link InputRecordDecoder#UNLABELLED}); a labels-only run ({@code withTeacher == false}) has nothing to learn
 * from it and passes over it ({@link Example#skip}), counted in {@link #skippedUnlabelled()}.
 *
 * <p>Top-k logits are densified: the classes the teacher left out get the smallest logit it kept, an upper bound of
 * their true values.
 */
public final class TeacherOutputDecoder implements RecordDecoder, AutoCloseable {
    private final Deserializer<TeacherOutput> deserializer;
    private final int inputSize;
    private final int classes;
    private final boolean withTeacher;
    private final boolean withFeatures;
    private final LabelSelection labels;
    private final List<Integer> inputShape;
    private final java.util.concurrent.atomic.AtomicLong skippedUnlabelled = new java.util.concurrent.atomic.AtomicLong();
    private CompanionFeatures companion;
    private volatile List<FeatureDescriptor> teacherFeatures;
    private volatile String teacherSha256;

    public TeacherOutputDecoder(Deserializer<TeacherOutput> deserializer, int inputSize, int classes, boolean withTeacher,
                                boolean withFeatures) {
        this(deserializer, inputSize, classes, withTeacher, withFeatures, LabelSelection.ALL);
    }

    /** As above; records whose label {@code labels} drops train as unlabelled (label {@code -1}). */
    public TeacherOutputDecoder(Deserializer<TeacherOutput> deserializer, int inputSize, int classes, boolean withTeacher,
                                boolean withFeatures, LabelSelection labels) {
        this(deserializer, inputSize, classes, withTeacher, withFeatures, labels, null);
    }

    /**
     * As above; with {@code inputShape} (not null) a record's input must also have that shape (an {@code [H, W]}
     * input fits {@code [1, H, W]}), else any shape of {@code inputSize} elements is taken.
     */
    public TeacherOutputDecoder(Deserializer<TeacherOutput> deserializer, int inputSize, int classes, boolean withTeacher,
                                boolean withFeatures, LabelSelection labels, List<Integer> inputShape) {
        this.inputShape = inputShape == null ? null : List.copyOf(inputShape);
        this.labels = Objects.requireNonNull(labels, "labels");
        this.deserializer = Objects.requireNonNull(deserializer, "deserializer");
        this.inputSize = inputSize;
        this.classes = classes;
        this.withTeacher = withTeacher;
        this.withFeatures = withFeatures;
    }

    /**
     * Where the decoder reads feature maps that outputs name on the companion features topic (needed when features
     * are used and the teacher published them there); the decoder closes it. Returns this decoder.
     */
    public TeacherOutputDecoder withCompanion(CompanionFeatures companion) {
        this.companion = companion;
        return this;
    }

    /** Teacher feature maps as found on the first valid record (null before, or when features are not used). */
    public List<FeatureDescriptor> teacherFeatures() {
        return teacherFeatures;
    }

    /** Unlabelled records a labels-only run passed over so far (every epoch counts again). */
    public long skippedUnlabelled() {
        return skippedUnlabelled.get();
    }

    /** sha256 of the teacher of the first valid record (null before). */
    public String teacherSha256() {
        return teacherSha256;
    }

    @Override
    public Example decode(ConsumerRecord<byte[], byte[]> record) {
        if (record.value() == null) {
            throw new BadRecordException(FailureKind.DESERIALIZATION, "record has no value");
        }
        TeacherOutput out = deserializer.deserialize(record.topic(), record.value());
        if (out.getInput() == null) {
            throw new BadRecordException(FailureKind.SHAPE, "teacher output " + out.getInputId() + " carries no input tensor");
        }
        InputRecordDecoder.requireShape(inputShape, out.getInput().getShape(), out.getInputId());
        // UINT8 pixels stay the record's own bytes until the batch is assembled (one pass into the batch, and scaled
        // bytes are always finite); other dtypes become floats here and are checked
        java.nio.ByteBuffer pixels = TensorBridge.uint8Pixels("input", out.getInput(), inputSize);
        float[] input = null;
        if (pixels == null) {
            input = new float[inputSize];
            TensorBridge.toModelInput("input", out.getInput(), inputSize, input, 0);
            requireFinite(input, "input");
        }
        Integer label = out.getLabel();
        if (label != null && (label < 0 || label >= classes)) {
            throw new BadRecordException(FailureKind.SHAPE, "label " + label + " outside [0, " + classes + ")");
        }
        int used = label == null || !labels.keeps(String.valueOf(out.getInputId())) ? InputRecordDecoder.UNLABELLED : label;
        if (used == InputRecordDecoder.UNLABELLED && !withTeacher) {
            skippedUnlabelled.incrementAndGet();
            return Example.skip(record.partition(), record.offset());
        }
        float[] logits = withTeacher ? logits(out.getLogits()) : null;
        float[][] features = withFeatures ? features(featureMaps(out)) : null;
        if (teacherSha256 == null && out.getTeacher() != null) {
            teacherSha256 = out.getTeacher().getSha256();
        }
        return new Example(record.partition(), record.offset(), input, pixels, used, logits, features,
                features == null ? null : teacherFeatures);
    }

    private float[] logits(Logits logits) {
        if (logits.getNumClasses() != classes) {
            throw new BadRecordException(FailureKind.SHAPE, "teacher has " + logits.getNumClasses() + " classes, the student "
                    + classes);
        }
        float[] values = TensorCodec.toFloats("logits.values", logits.getValues());
        requireFinite(values, "teacher logits");
        if (logits.getIndices() == null) {
            if (values.length != classes) {
                throw new BadRecordException(FailureKind.SHAPE, "dense logits need " + classes + " values, got shape "
                        + logits.getValues().getShape());
            }
            return values;
        }
        int[] indices = TensorCodec.toInts("logits.indices", logits.getIndices());
        if (indices.length != values.length || values.length == 0) {
            throw new BadRecordException(FailureKind.SHAPE, "top-k logits: " + values.length + " values but " + indices.length
                    + " indices");
        }
        float min = Float.POSITIVE_INFINITY;
        for (float v : values) {
            min = Math.min(min, v);
        }
        float[] dense = new float[classes];
        java.util.Arrays.fill(dense, min);
        for (int i = 0; i < indices.length; i++) {
            if (indices[i] < 0 || indices[i] >= classes) {
                throw new BadRecordException(FailureKind.SHAPE, "top-k index " + indices[i] + " outside [0, " + classes + ")");
            }
            dense[indices[i]] = values[i];
        }
        return dense;
    }

    /** The output's feature maps: inline, or the companion record its featuresRef names (checked to belong to it). */
    private List<FeatureMap> featureMaps(TeacherOutput out) {
        if (!out.getFeatures().isEmpty() || out.getFeaturesRef() == null) {
            return out.getFeatures();
        }
        if (companion == null) {
            throw new BadRecordException(FailureKind.SHAPE, "the teacher output names feature record "
                    + out.getFeaturesRef() + " but this reader has no features topic to read it from");
        }
        TeacherFeatures f = companion.fetch(out.getFeaturesRef());
        int view = ViewNumber.of(out.getAttributes());
        if (!f.getInputId().equals(out.getInputId()) || f.getView() != view || !f.getSource().equals(out.getSource())) {
            throw new BadRecordException(FailureKind.SHAPE, "feature record " + out.getFeaturesRef() + " belongs to input "
                    + f.getInputId() + " (view " + f.getView() + ", from " + f.getSource() + "), not to output "
                    + out.getInputId() + " (view " + view + ", from " + out.getSource() + ")");
        }
        return f.getFeatures();
    }

    /** Closes the companion reader, if any. */
    @Override
    public void close() {
        if (companion != null) {
            companion.close();
        }
    }

    private float[][] features(List<FeatureMap> maps) {
        List<FeatureDescriptor> known = teacherFeatures;
        List<FeatureDescriptor> seen = new ArrayList<>(maps.size());
        float[][] values = new float[maps.size()][];
        for (int i = 0; i < maps.size(); i++) {
            FeatureMap m = maps.get(i);
            List<Integer> shape = m.getTensor().getShape();
            FeatureDescriptor d;
            try {
                d = new FeatureDescriptor(m.getName(), m.getStride(), shape);
            } catch (IllegalArgumentException e) {
                throw new BadRecordException(FailureKind.SHAPE, "feature map: " + e.getMessage(), e);
            }
            seen.add(d);
            values[i] = TensorCodec.toFloats("feature " + m.getName(), m.getTensor());
            requireFinite(values[i], "feature " + m.getName());
        }
        if (seen.isEmpty()) {
            throw new BadRecordException(FailureKind.SHAPE, "feature distillation is on but the record has no feature maps");
        }
        if (known == null) {
            teacherFeatures = List.copyOf(seen);
        } else if (!known.equals(seen)) {
            throw new BadRecordException(FailureKind.SHAPE, "feature maps " + seen + " differ from the run's " + known);
        }
        return values;
    }

    private static void requireFinite(float[] values, String what) {
        for (float v : values) {
            if (!Float.isFinite(v)) {
                throw new BadRecordException(FailureKind.NON_FINITE, what + " contains NaN or infinite values");
            }
        }
    }
}
