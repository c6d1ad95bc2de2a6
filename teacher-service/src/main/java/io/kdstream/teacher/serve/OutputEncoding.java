package io.kdstream.teacher.serve;

import io.kdstream.avro.DType;
import io.kdstream.avro.FeatureMap;
import io.kdstream.avro.Logits;
import io.kdstream.avro.Tensor;
import io.kdstream.core.zoo.FeatureSpec;
import io.kdstream.schemas.tensor.TensorCodec;

import java.util.Arrays;

/**
 * Encodes teacher outputs for the wire and decodes them back: dense or top-k logits, feature maps with name and
 * stride, each in FLOAT32, FLOAT16 or BFLOAT16.
 */
public final class OutputEncoding {

    private OutputEncoding() {
    }

    /**
     * Dense logits ({@code topK == 0}) or the {@code topK} largest, in descending order (ties: lower class first),
     * with their INT32 class indices.
     */
    public static Logits encodeLogits(float[] logits, DType dtype, int topK) {
        int n = logits.length;
        if (topK <= 0 || topK >= n) {
            return new Logits(n, TensorCodec.fromFloats(logits, dtype, n), null);
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> {
            int c = Float.compare(logits[b], logits[a]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        float[] values = new float[topK];
        int[] indices = new int[topK];
        for (int i = 0; i < topK; i++) {
            indices[i] = order[i];
            values[i] = logits[order[i]];
        }
        return new Logits(n, TensorCodec.fromFloats(values, dtype, topK), TensorCodec.fromInts(indices, topK));
    }

    /**
     * All {@code numClasses} logits; classes absent from top-k logits get {@code missing} (e.g.
     * {@link Float#NEGATIVE_INFINITY}, or the smallest kept value).
     */
    public static float[] decodeLogits(Logits logits, float missing) {
        float[] values = TensorCodec.toFloats("logits.values", logits.getValues());
        if (logits.getIndices() == null) {
            return values;
        }
        int[] indices = TensorCodec.toInts("logits.indices", logits.getIndices());
        float[] out = new float[logits.getNumClasses()];
        Arrays.fill(out, missing);
        for (int i = 0; i < indices.length; i++) {
            out[indices[i]] = values[i];
        }
        return out;
    }

    /** A named feature map with its stride, shaped as the spec declares. */
    public static FeatureMap encodeFeature(FeatureSpec spec, float[] values, DType dtype) {
        int[] shape = spec.shape().stream().mapToInt(Integer::intValue).toArray();
        Tensor t = TensorCodec.fromFloats(values, dtype, shape);
        return new FeatureMap(spec.name(), spec.stride(), t);
    }

    /** Whether every value is finite. */
    public static boolean allFinite(float[] values) {
        for (float v : values) {
            if (!Float.isFinite(v)) {
                return false;
            }
        }
        return true;
    }
}
