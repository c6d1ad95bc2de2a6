package io.kdstream.teacher;

import java.util.List;
import java.util.Objects;

/**
 * What the teacher computed for a batch, copied out of native memory: row-major logits {@code [n, numClasses]} and
 * one array per feature {@code [n, featureSize]}, in the order of the model's feature list.
 *
 * @param size       examples in the batch
 * @param numClasses logits per example
 * @param logits     {@code size * numClasses} values
 * @param features   per feature, {@code size * featureSize} values
 * @param featureShapes per feature, its per-example shape (without the batch axis)
 */
public record BatchOutput(int size, int numClasses, float[] logits, List<float[]> features,
        List<List<Integer>> featureShapes) {
    public BatchOutput {
        Objects.requireNonNull(logits, "logits");
        Objects.requireNonNull(features, "features");
        Objects.requireNonNull(featureShapes, "featureShapes");
        if (featureShapes.size() != features.size()) {
            throw new IllegalArgumentException(features.size() + " features but " + featureShapes.size() + " shapes");
        }
        if (size < 0 || numClasses < 1 || logits.length != size * numClasses) {
            throw new IllegalArgumentException("logits hold " + logits.length + " values, expected " + size + " x " + numClasses);
        }
        for (float[] f : features) {
            if (size > 0 && f.length % size != 0) {
                throw new IllegalArgumentException("a feature of " + f.length + " values does not split into " + size + " examples");
            }
        }
        features = List.copyOf(features);
        featureShapes = featureShapes.stream().map(List::copyOf).toList();
    }

    /** Logits of example {@code i}. */
    public float[] logits(int i) {
        float[] out = new float[numClasses];
        System.arraycopy(logits, i * numClasses, out, 0, numClasses);
        return out;
    }

    /** Feature {@code f} of example {@code i}, flattened. */
    public float[] feature(int f, int i) {
        float[] all = features.get(f);
        int per = all.length / size;
        float[] out = new float[per];
        System.arraycopy(all, i * per, out, 0, per);
        return out;
    }

    /** Index of the largest logit of example {@code i}. */
    public int argmax(int i) {
        int best = 0;
        int base = i * numClasses;
        for (int c = 1; c < numClasses; c++) {
            if (logits[base + c] > logits[base + best]) {
                best = c;
            }
        }
        return best;
    }
}
