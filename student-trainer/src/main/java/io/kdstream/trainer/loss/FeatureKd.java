package io.kdstream.trainer.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.pooling.Pool;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Feature distillation: for each stride-matched pair a learnable adapter without bias (a linear map for embeddings, a
 * 1×1 convolution for spatial maps, both a {@code [C_student, C_teacher]} matrix) projects the student map to the
 * teacher's channels; a spatial mismatch is resolved by average pooling or repetition; optionally both sides are
 * L2-normalised along the channel axis; then MSE or cosine distance, averaged over pairs.
 */
public final class FeatureKd {

    /** Distance between adapted student and teacher maps. */
    public enum Distance {
        /** Mean squared error over every element. */
        MSE,
        /** {@code 1 − cos} along the channel axis, averaged over examples and positions. */
        COSINE;

        public static Distance parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("feature distance must be 'mse' or 'cosine', got '" + s + "'", e);
            }
        }
    }

    /**
     * Added under the square root of a squared norm, never after it: the derivative of sqrt at 0 is infinite, so a
     * feature vector that is exactly zero (an adapter output of all-zero ReLU features) would otherwise turn the whole
     * gradient into NaN and the student's parameters with it. With it, a zero vector normalises to zero.
     */
    private static final float NORM_EPS_SQUARED = 1e-8f;

    private final List<FeaturePair> pairs;
    private final Map<String, NDArray> adapters;
    private final Distance distance;
    private final boolean normalize;

    private FeatureKd(List<FeaturePair> pairs, Map<String, NDArray> adapters, Distance distance, boolean normalize) {
        this.pairs = pairs;
        this.adapters = adapters;
        this.distance = distance;
        this.normalize = normalize;
    }

    /**
     * Creates the adapters in {@code manager} (which must outlive training), initialised with Xavier-uniform values
     * drawn from {@code seed}, and marks them as requiring gradients.
     */
    public static FeatureKd create(NDManager manager, List<FeaturePair> pairs, Distance distance, boolean normalize, long seed) {
        Objects.requireNonNull(manager, "manager");
        Map<String, NDArray> adapters = new LinkedHashMap<>();
        SplittableRandom random = new SplittableRandom(seed);
        for (FeaturePair p : pairs) {
            int in = p.student().channels();
            int out = p.teacher().channels();
            float bound = (float) Math.sqrt(6.0 / (in + out));
            float[] w = new float[in * out];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
            }
            NDArray weight = manager.create(w, new Shape(in, out));
            weight.setName(p.adapterName());
            weight.setRequiresGradient(true);
            adapters.put(p.adapterName(), weight);
        }
        return new FeatureKd(List.copyOf(pairs), adapters, Objects.requireNonNull(distance, "distance"), normalize);
    }

    public List<FeaturePair> pairs() {
        return pairs;
    }

    /** Adapter weights by adapter name, in pair order: trainable state to optimise and checkpoint. */
    public Map<String, NDArray> adapters() {
        return Collections.unmodifiableMap(adapters);
    }

    /**
     * The loss for one batch: {@code student} maps by student feature name ({@code [B, C]} or {@code [B, C, H, W]}),
     * {@code teacher} maps by teacher feature name. Teacher maps never receive a gradient.
     */
    public NDArray loss(Map<String, NDArray> student, Map<String, NDArray> teacher) {
        List<NDArray> terms = new ArrayList<>(pairs.size());
        for (FeaturePair p : pairs) {
            NDArray s = require(student, p.student().name(), "student");
            NDArray t = require(teacher, p.teacher().name(), "teacher").stopGradient();
            NDArray projected = project(s, adapters.get(p.adapterName()), p.student().spatial());
            if (p.student().spatial()) {
                projected = resize(projected, p.student(), p.teacher());
            }
            terms.add(distance(projected, t));
        }
        NDArray total = terms.get(0);
        for (int i = 1; i < terms.size(); i++) {
            total = total.add(terms.get(i));
        }
        return terms.size() == 1 ? total : Losses.divide(total, terms.size());
    }

    /**
     * Applies an adapter {@code [C_in, C_out]} to {@code [B, C_in]} or, per position, to {@code [B, C_in, H, W]}. The
     * batch array is the first operand of every operation, so all results live in its (per-batch) manager.
     */
    static NDArray project(NDArray x, NDArray weight, boolean spatial) {
        if (!spatial) {
            return x.matMul(weight);
        }
        Shape shape = x.getShape();
        long b = shape.get(0);
        long h = shape.get(2);
        long w = shape.get(3);
        long out = weight.getShape().get(1);
        NDArray rows = x.transpose(0, 2, 3, 1).reshape(b * h * w, shape.get(1));
        return rows.matMul(weight).reshape(b, h, w, out).transpose(0, 3, 1, 2);
    }

    static NDArray resize(NDArray x, FeatureDescriptor student, FeatureDescriptor teacher) {
        int fh = FeaturePair.resizeFactor(student.height(), teacher.height());
        int fw = FeaturePair.resizeFactor(student.width(), teacher.width());
        NDArray out = x;
        if (fh > 1 || fw > 1) {
            int kh = Math.max(fh, 1);
            int kw = Math.max(fw, 1);
            out = Pool.avgPool2d(out, new Shape(kh, kw), new Shape(kh, kw), new Shape(0, 0), false, true);
        }
        if (fh < -1) {
            out = out.repeat(2, -fh);
        }
        if (fw < -1) {
            out = out.repeat(3, -fw);
        }
        return out;
    }

    private NDArray distance(NDArray s, NDArray t) {
        if (!s.getShape().equals(t.getShape())) {
            throw new IllegalArgumentException("adapted student map " + s.getShape() + " does not match teacher map " + t.getShape());
        }
        NDArray a = s;
        NDArray b = t;
        if (normalize) {
            a = l2Normalize(a);
            b = l2Normalize(b);
        }
        if (distance == Distance.MSE) {
            return a.sub(b).square().mean();
        }
        NDArray dot = a.mul(b).sum(new int[] {1});
        NDArray na = a.square().sum(new int[] {1}).add(NORM_EPS_SQUARED).sqrt();
        NDArray nb = b.square().sum(new int[] {1}).add(NORM_EPS_SQUARED).sqrt();
        NDArray cos = dot.div(na.mul(nb));
        return cos.neg().add(1f).mean();
    }

    static NDArray l2Normalize(NDArray x) {
        return x.div(x.square().sum(new int[] {1}, true).add(NORM_EPS_SQUARED).sqrt());
    }

    private static NDArray require(Map<String, NDArray> maps, String name, String side) {
        NDArray a = maps.get(name);
        if (a == null) {
            throw new IllegalArgumentException(side + " feature '" + name + "' is missing; present: " + maps.keySet());
        }
        return a;
    }
}
