package io.kdstream.core.zoo;

import java.util.List;
import java.util.Objects;

/**
 * Declares one named feature output of a model: its per-example shape ({@code [C, H, W]} for a convolutional map,
 * {@code [C]} for an embedding), its channel count and its spatial stride relative to the input (0 for a non-spatial
 * embedding). Students read these from record metadata to match strides; nothing downstream hard-codes them.
 *
 * @param name     feature name, unique within a model, e.g. {@code conv3} or {@code embedding}
 * @param stride   input pixels per feature-map cell along each spatial axis; 0 when the feature is not spatial
 * @param shape    per-example shape, outermost first; its first dimension is the channel count
 */
public record FeatureSpec(String name, int stride, List<Integer> shape) {

    public FeatureSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(shape, "shape");
        if (name.isBlank()) {
            throw new IllegalArgumentException("feature name must not be blank");
        }
        if (stride < 0) {
            throw new IllegalArgumentException("feature " + name + ": stride must be >= 0, got " + stride);
        }
        if (shape.isEmpty() || shape.size() > 3) {
            throw new IllegalArgumentException("feature " + name + ": shape must be [C] or [C, H] or [C, H, W], got " + shape);
        }
        for (Integer d : shape) {
            if (d == null || d <= 0) {
                throw new IllegalArgumentException("feature " + name + ": every dimension must be > 0, got " + shape);
            }
        }
        if (shape.size() == 1 && stride != 0) {
            throw new IllegalArgumentException("feature " + name + ": an embedding [C] has stride 0, got " + stride);
        }
        if (shape.size() > 1 && stride == 0) {
            throw new IllegalArgumentException("feature " + name + ": a spatial map " + shape + " needs a stride > 0");
        }
        shape = List.copyOf(shape);
    }

    /** A spatial map {@code [channels, height, width]}. */
    public static FeatureSpec map(String name, int stride, int channels, int height, int width) {
        return new FeatureSpec(name, stride, List.of(channels, height, width));
    }

    /** A non-spatial embedding {@code [channels]}. */
    public static FeatureSpec embedding(String name, int channels) {
        return new FeatureSpec(name, 0, List.of(channels));
    }

    public int channels() {
        return shape.get(0);
    }

    public boolean spatial() {
        return shape.size() > 1;
    }

    /** Elements per example (product of the shape). */
    public int size() {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }
}
