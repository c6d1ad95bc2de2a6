package io.kdstream.trainer.group;

import io.kdstream.core.KdException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The sample-weighted average of the members' parameter vectors, summed in double in sorted member-id order, so
 * every member computes the same bits whatever order the contributions arrived in.
 */
public final class ModelAverager {
    private ModelAverager() {
    }

    /** One member's parameters and its weight. */
    public record Contribution(String memberId, long samples, float[] parameters) {
        public Contribution {
            Objects.requireNonNull(memberId, "memberId");
            Objects.requireNonNull(parameters, "parameters");
            if (samples < 0) {
                throw new IllegalArgumentException("samples must be >= 0");
            }
        }
    }

    /**
     * Σ samples_m · params_m / Σ samples_m over the members in sorted id order; when no member trained a sample, the
     * plain mean.
     */
    public static float[] average(List<Contribution> contributions) {
        if (contributions.isEmpty()) {
            throw new IllegalArgumentException("nothing to average");
        }
        List<Contribution> sorted = new ArrayList<>(contributions);
        sorted.sort(Comparator.comparing(Contribution::memberId));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).memberId().equals(sorted.get(i - 1).memberId())) {
                throw new IllegalArgumentException("two contributions of member " + sorted.get(i).memberId());
            }
        }
        int n = sorted.get(0).parameters().length;
        long total = 0;
        for (Contribution c : sorted) {
            if (c.parameters().length != n) {
                throw new KdException("Member " + c.memberId() + " contributed " + c.parameters().length
                        + " parameters where " + n + " were expected: do all members train the same student?");
            }
            total += c.samples();
        }
        double[] acc = new double[n];
        for (Contribution c : sorted) {
            double w = total == 0 ? 1.0 : (double) c.samples();
            if (w == 0) {
                continue;
            }
            float[] p = c.parameters();
            for (int i = 0; i < n; i++) {
                acc[i] += w * p[i];
            }
        }
        double denominator = total == 0 ? sorted.size() : (double) total;
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (acc[i] / denominator);
        }
        return out;
    }

    /** The parameters of a model, in their (insertion) order, as one vector: what a member sends and the group averages. */
    public static float[] flatten(Map<String, float[]> parameters) {
        int n = 0;
        for (float[] a : parameters.values()) {
            n += a.length;
        }
        float[] out = new float[n];
        int at = 0;
        for (float[] a : parameters.values()) {
            System.arraycopy(a, 0, out, at, a.length);
            at += a.length;
        }
        return out;
    }

    /** Splits {@code flat} into parameters named and sized like {@code like}; the sizes must add up exactly. */
    public static Map<String, float[]> unflatten(float[] flat, Map<String, float[]> like) {
        Map<String, float[]> out = new LinkedHashMap<>();
        int at = 0;
        for (Map.Entry<String, float[]> e : like.entrySet()) {
            int n = e.getValue().length;
            if (at + n > flat.length) {
                throw new KdException("The group's parameters (" + flat.length + " values) do not fit this student");
            }
            out.put(e.getKey(), Arrays.copyOfRange(flat, at, at + n));
            at += n;
        }
        if (at != flat.length) {
            throw new KdException("The group's parameters (" + flat.length + " values) do not fit this student (" + at + ")");
        }
        return out;
    }
}
