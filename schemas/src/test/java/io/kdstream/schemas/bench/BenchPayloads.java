package io.kdstream.schemas.bench;

import io.kdstream.avro.DType;
import io.kdstream.avro.FeatureMap;
import io.kdstream.avro.InputRecord;
import io.kdstream.avro.Logits;
import io.kdstream.avro.SourceCoordinates;
import io.kdstream.avro.TeacherInfo;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.schemas.tensor.TensorCodec;
import org.apache.avro.specific.SpecificRecord;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** The fixed, seeded payloads the codec and serde benchmarks (and their report) share. */
final class BenchPayloads {

    /** Records the serde benchmark writes and reads, by the name its {@code record} parameter takes. */
    static final String INPUT_RECORD = "InputRecord";
    static final String TEACHER_OUTPUT = "TeacherOutput";
    static final String TEACHER_OUTPUT_FMAP = "TeacherOutput+fmap";

    private static final int CLASSES = 10;
    private static final int[] IMAGE = {1, 28, 28};
    private static final int[] FEATURE_MAP = {64, 7, 7};

    private BenchPayloads() {
    }

    /** The dimensions of a shape parameter such as {@code 64x7x7}. */
    static int[] shape(String spec) {
        return Arrays.stream(spec.split("x")).mapToInt(Integer::parseInt).toArray();
    }

    static int elements(int[] shape) {
        int n = 1;
        for (int dim : shape) {
            n = Math.multiplyExact(n, dim);
        }
        return n;
    }

    /** Seeded values in roughly the range of logits and activations, with a few exact zeros. */
    static float[] floats(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = i % 7 == 0 ? 0f : (float) (random.nextGaussian() * 4.0);
        }
        return values;
    }

    static byte[] pixels(int n, long seed) {
        byte[] bytes = new byte[n];
        new SplittableRandom(seed).nextBytes(bytes);
        return bytes;
    }

    /** A record of the kind named by {@code name}: one Fashion-MNIST-sized input, its teacher output, or both. */
    static SpecificRecord record(String name) {
        return switch (name) {
            case INPUT_RECORD -> inputRecord();
            case TEACHER_OUTPUT -> teacherOutput(false);
            case TEACHER_OUTPUT_FMAP -> teacherOutput(true);
            default -> throw new IllegalArgumentException("unknown benchmark record " + name);
        };
    }

    private static InputRecord inputRecord() {
        return InputRecord.newBuilder()
                .setId("fmnist-train-00042")
                .setSource("fashion-mnist/train")
                .setInput(TensorCodec.fromUint8(pixels(elements(IMAGE), 1), IMAGE))
                .setLabel(3)
                .setLabels(null)
                .setTimestampMs(Instant.ofEpochMilli(1_700_000_000_000L))
                .setAttributes(Map.of("split", "train"))
                .build();
    }

    private static TeacherOutput teacherOutput(boolean withFeatureMap) {
        List<FeatureMap> features = withFeatureMap
                ? List.of(FeatureMap.newBuilder().setName("conv2").setStride(4)
                        .setTensor(TensorCodec.fromFloats(floats(elements(FEATURE_MAP), 3), DType.FLOAT32, FEATURE_MAP))
                        .build())
                : List.of();
        return TeacherOutput.newBuilder()
                .setInputId("fmnist-train-00042")
                .setInput(TensorCodec.fromUint8(pixels(elements(IMAGE), 1), IMAGE))
                .setLabel(3)
                .setLabels(null)
                .setTeacher(TeacherInfo.newBuilder().setName("fmnist-cnn").setVersion("1")
                        .setSha256("0".repeat(64)).build())
                .setLogits(Logits.newBuilder().setNumClasses(CLASSES)
                        .setValues(TensorCodec.fromFloats(floats(CLASSES, 2), DType.FLOAT32, CLASSES))
                        .setIndices(null).build())
                .setFeatures(features)
                .setSource(SourceCoordinates.newBuilder().setTopic("kd.inputs").setPartition(0).setOffset(42L).build())
                .setProducedAtMs(Instant.ofEpochMilli(1_700_000_000_500L))
                .setAttributes(Map.of("split", "train"))
                .build();
    }
}
