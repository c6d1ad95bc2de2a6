package io.kdstream.trainer.loss;

import java.util.List;
import java.util.Objects;

/**
 * What the distillation losses need to know of one named feature map: its name, its stride relative to the input
 * (0 for a non-spatial embedding) and its per-example shape ({@code [C]} or {@code [C, H, W]}). The student side comes
 * from the model zoo's declaration, the teacher side from each record's {@code FeatureMap} metadata.
 */
public record FeatureDescriptor(String name, int stride, List<Integer> shape) {

    public FeatureDescriptor {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(shape, "shape");
        shape = List.copyOf(shape);
        if (name.isBlank()) {
            throw new IllegalArgumentException("feature name must not be blank");
        }
        if (stride < 0) {
            throw new IllegalArgumentException("feature " + name + ": stride must be >= 0, got " + stride);
        }
        if (shape.size() != 1 && shape.size() != 3) {
            throw new IllegalArgumentException("feature " + name + ": shape must be [C] or [C, H, W], got " + shape);
        }
        for (Integer d : shape) {
            if (d == null || d <= 0) {
                throw new IllegalArgumentException("feature " + name + ": dimensions must be > 0, got " + shape);
            }
        }
        if ((shape.size() == 1) != (stride == 0)) {
            throw new IllegalArgumentException("feature " + name + ": an embedding [C] has stride 0 and a map [C, H, W] "
                    + "a stride > 0; got stride " + stride + " and shape " + shape);
        }
    }

    public int channels() {
        return shape.get(0);
    }

    public boolean spatial() {
        return shape.size() == 3;
    }

    public int height() {
        return spatial() ? shape.get(1) : 1;
    }

    public int width() {
        return spatial() ? shape.get(2) : 1;
    }
}
