package io.kdstream.trainer.state;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The fused updates against the textbook rules written out element by element: the same numbers, step after step, and
 * a restored state continues exactly.
 */
class OptimizerTest {

    private static final float BETA1 = 0.9f;
    private static final float BETA2 = 0.999f;
    private static final float EPS = 1e-8f;

    @Test
    void shouldApplyAdamAsTheBiasCorrectedTextbookRule() {
        try (NDManager manager = NDManager.newBaseManager()) {
            float[] p0 = random(1, 37);
            Optimizer adam = new Optimizer(Optimizer.Kind.ADAM, BETA1, manager);
            NDArray p = manager.create(p0.clone(), new Shape(37));
            double[] ref = toDouble(p0);
            double[] m = new double[37];
            double[] v = new double[37];
            for (int t = 1; t <= 5; t++) {
                float[] g = random(100 + t, 37);
                double lr = 0.01 / t;
                adam.step(Map.of("w", p), Map.of("w", manager.create(g, new Shape(37))), lr);
                for (int i = 0; i < ref.length; i++) {
                    m[i] = BETA1 * m[i] + (1 - BETA1) * g[i];
                    v[i] = BETA2 * v[i] + (1 - BETA2) * g[i] * g[i];
                    double mHat = m[i] / (1 - Math.pow(BETA1, t));
                    double vHat = v[i] / (1 - Math.pow(BETA2, t));
                    ref[i] -= lr * mHat / (Math.sqrt(vHat) + EPS);
                }
                float[] got = p.toFloatArray();
                for (int i = 0; i < ref.length; i++) {
                    assertThat((double) got[i]).as("step %d, element %d", t, i).isCloseTo(ref[i], within(1e-6));
                }
            }
            assertThat(adam.updates()).isEqualTo(5);
        }
    }

    @Test
    void shouldApplySgdWithMomentumAsTheTextbookRule() {
        try (NDManager manager = NDManager.newBaseManager()) {
            float[] p0 = random(2, 19);
            Optimizer sgd = new Optimizer(Optimizer.Kind.SGD, 0.8, manager);
            NDArray p = manager.create(p0.clone(), new Shape(19));
            double[] ref = toDouble(p0);
            double[] m = new double[19];
            for (int t = 1; t <= 5; t++) {
                float[] g = random(200 + t, 19);
                double lr = 0.1 / t;
                sgd.step(Map.of("w", p), Map.of("w", manager.create(g, new Shape(19))), lr);
                float[] got = p.toFloatArray();
                for (int i = 0; i < ref.length; i++) {
                    m[i] = 0.8 * m[i] + g[i];
                    ref[i] -= lr * m[i];
                    assertThat((double) got[i]).as("step %d, element %d", t, i).isCloseTo(ref[i], within(1e-6));
                }
            }
        }
    }

    @Test
    void shouldContinueBitIdenticallyFromARestoredState() {
        for (Optimizer.Kind kind : Optimizer.Kind.values()) {
            try (NDManager manager = NDManager.newBaseManager()) {
                float[] p0 = random(3, 64);
                Optimizer straight = new Optimizer(kind, 0.9, manager);
                NDArray a = manager.create(p0.clone(), new Shape(8, 8));
                Optimizer interrupted = new Optimizer(kind, 0.9, manager);
                NDArray b = manager.create(p0.clone(), new Shape(8, 8));
                for (int t = 1; t <= 6; t++) {
                    NDArray g = manager.create(random(300 + t, 64), new Shape(8, 8));
                    straight.step(Map.of("w", a), Map.of("w", g), 0.01);
                    if (t == 3) {
                        // snapshot and restore into a fresh optimizer, as a checkpoint does
                        Map<String, float[]> values = new LinkedHashMap<>();
                        Map<String, long[]> shapes = new LinkedHashMap<>();
                        interrupted.step(Map.of("w", b), Map.of("w", g), 0.01);
                        interrupted.state().forEach((k, x) -> {
                            values.put(k, x.toFloatArray());
                            shapes.put(k, x.getShape().getShape());
                        });
                        interrupted = new Optimizer(kind, 0.9, manager);
                        interrupted.restore(values, shapes, 3);
                    } else {
                        interrupted.step(Map.of("w", b), Map.of("w", g), 0.01);
                    }
                }
                assertThat(b.toFloatArray()).as(kind.name()).containsExactly(a.toFloatArray());
            }
        }
    }

    @Test
    void shouldAgreeWithTheElementwiseChainOnTheMlpStudentsArraysOverManySteps() {
        // The fused update against the element-wise chain it replaces (a dozen engine calls per array), on copies of
        // the same arrays; both are timed side by side and printed for the performance notes (not asserted). Over 300
        // steps of 1e-4 the weights move by up to 0.03; the two may differ by float rounding only
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> fusedParams = new LinkedHashMap<>();
            Map<String, NDArray> chainParams = new LinkedHashMap<>();
            Map<String, NDArray> grads = new LinkedHashMap<>();
            Map<String, NDArray> m = new LinkedHashMap<>();
            Map<String, NDArray> v = new LinkedHashMap<>();
            int[][] shapes = {{256, 784}, {256}, {128, 256}, {128}, {10, 128}, {10}};
            for (int i = 0; i < shapes.length; i++) {
                Shape shape = new Shape(java.util.Arrays.stream(shapes[i]).asLongStream().toArray());
                float[] p0 = random(i, (int) shape.size());
                fusedParams.put("p" + i, manager.create(p0.clone(), shape));
                chainParams.put("p" + i, manager.create(p0.clone(), shape));
                grads.put("p" + i, manager.create(random(50 + i, (int) shape.size()), shape));
                m.put("p" + i, manager.zeros(shape));
                v.put("p" + i, manager.zeros(shape));
            }
            Optimizer fused = new Optimizer(Optimizer.Kind.ADAM, BETA1, manager);
            int steps = 300;
            long fusedNanos = 0;
            long chainNanos = 0;
            for (int s = 1; s <= steps; s++) {
                long t0 = System.nanoTime();
                fused.step(fusedParams, grads, 1e-4);
                long t1 = System.nanoTime();
                try (NDManager batch = manager.newSubManager()) {
                    elementwiseAdam(chainParams, grads, m, v, s, 1e-4f, batch);
                }
                long t2 = System.nanoTime();
                fusedNanos += t1 - t0;
                chainNanos += t2 - t1;
            }
            System.out.printf(Locale.ROOT, "optimizer (Adam, MLP student's 6 arrays, 235k weights, %d steps "
                    + "interleaved): fused %.3f ms/step, element-wise chain %.3f ms/step, ratio %.2fx%n", steps,
                    fusedNanos / 1e6 / steps, chainNanos / 1e6 / steps, (double) chainNanos / fusedNanos);
            for (String k : fusedParams.keySet()) {
                float[] a = fusedParams.get(k).toFloatArray();
                float[] b = chainParams.get(k).toFloatArray();
                for (int i = 0; i < a.length; i++) {
                    assertThat(a[i]).as("%s[%d]", k, i).isCloseTo(b[i], within(1e-6f));
                }
            }
        }
    }

    /** The update as the trainer wrote it before the fused kernel: a dozen engine calls per array. */
    private static void elementwiseAdam(Map<String, NDArray> params, Map<String, NDArray> grads,
                                        Map<String, NDArray> m, Map<String, NDArray> v, int t, float lr,
                                        NDManager batch) {
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            NDArray g = grads.get(e.getKey()).duplicate();
            g.attach(batch);
            NDArray mk = m.get(e.getKey());
            NDArray vk = v.get(e.getKey());
            mk.muli(BETA1).addi(g.mul(1 - BETA1));
            vk.muli(BETA2).addi(g.square().mul(1 - BETA2));
            float c1 = (float) (1 - Math.pow(BETA1, t));
            float c2 = (float) (1 - Math.pow(BETA2, t));
            NDArray vs = vk.duplicate();
            vs.attach(batch);
            NDArray ms = mk.duplicate();
            ms.attach(batch);
            NDArray denom = vs.div(c2).sqrt().add(EPS);
            e.getValue().subi(ms.div(c1).div(denom).mul(lr));
        }
    }

    private static float[] random(long seed, int n) {
        Random r = new Random(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) r.nextGaussian();
        }
        return out;
    }

    private static double[] toDouble(float[] a) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i];
        }
        return out;
    }
}
