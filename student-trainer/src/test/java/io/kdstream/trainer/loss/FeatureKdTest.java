package io.kdstream.trainer.loss;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class FeatureKdTest {
    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    @Test
    void shouldPairFeaturesByStrideFromMetadataAndTakeTheDeepestStudentMap() {
        List<FeatureDescriptor> student = List.of(
                new FeatureDescriptor("a", 2, List.of(8, 14, 14)),
                new FeatureDescriptor("b", 4, List.of(16, 7, 7)),
                new FeatureDescriptor("c", 4, List.of(32, 7, 7)),
                new FeatureDescriptor("emb", 0, List.of(64)));
        List<FeatureDescriptor> teacher = List.of(
                new FeatureDescriptor("t-conv", 4, List.of(64, 7, 7)),
                new FeatureDescriptor("t-emb", 0, List.of(128)),
                new FeatureDescriptor("t-deep", 8, List.of(64, 4, 4)));

        List<FeaturePair> pairs = FeaturePair.byStride(student, teacher);

        assertThat(pairs).extracting(p -> p.student().name() + "->" + p.teacher().name()).containsExactly("c->t-conv", "emb->t-emb");
    }

    @Test
    void shouldRejectFeaturesWithoutAnyCommonStride() {
        assertThatThrownBy(() -> FeaturePair.byStride(List.of(new FeatureDescriptor("a", 2, List.of(8, 14, 14))),
                List.of(new FeatureDescriptor("t", 4, List.of(8, 7, 7))))).hasMessageContaining("no student feature shares a stride");
    }

    @Test
    void shouldComputeMseThroughLinearAdapterByHand() {
        // Student embedding [1, 2] x = (1, 2); adapter W [2, 1] = (w0, w1); projected = w0 + 2 w1; teacher = 3.
        FeaturePair pair = new FeaturePair(new FeatureDescriptor("s", 0, List.of(2)), new FeatureDescriptor("t", 0, List.of(1)));
        FeatureKd kd = FeatureKd.create(manager, List.of(pair), FeatureKd.Distance.MSE, false, 11);
        float[] w = kd.adapters().get("s->t").toFloatArray();
        NDArray s = manager.create(new float[] {1, 2}, new Shape(1, 2));
        NDArray t = manager.create(new float[] {3}, new Shape(1, 1));

        double loss = kd.loss(Map.of("s", s), Map.of("t", t)).getFloat();

        double projected = w[0] + 2.0 * w[1];
        assertThat(loss).isCloseTo((projected - 3) * (projected - 3), within(1e-5));
    }

    @Test
    void shouldApplyOneByOneConvAdapterPerPositionAndPoolLargerStudentMaps() {
        // Student map [1, 1, 2, 2], teacher map [1, 1, 1, 1]: adapter is a scalar w; pooled mean of w·x.
        FeaturePair pair = new FeaturePair(new FeatureDescriptor("s", 4, List.of(1, 2, 2)), new FeatureDescriptor("t", 4, List.of(1, 1, 1)));
        FeatureKd kd = FeatureKd.create(manager, List.of(pair), FeatureKd.Distance.MSE, false, 3);
        float w = kd.adapters().get("s->t").getFloat();
        NDArray s = manager.create(new float[] {1, 2, 3, 6}, new Shape(1, 1, 2, 2));
        NDArray t = manager.create(new float[] {1}, new Shape(1, 1, 1, 1));

        double loss = kd.loss(Map.of("s", s), Map.of("t", t)).getFloat();

        double pooled = w * 3.0; // mean(1, 2, 3, 6) = 3
        assertThat(loss).isCloseTo((pooled - 1) * (pooled - 1), within(1e-5));
    }

    @Test
    void shouldRepeatSmallerStudentMapsToTeacherSize() {
        NDArray x = manager.create(new float[] {1, 2, 3, 4}, new Shape(1, 1, 2, 2));
        NDArray up = FeatureKd.resize(x, new FeatureDescriptor("s", 4, List.of(1, 2, 2)), new FeatureDescriptor("t", 4, List.of(1, 4, 4)));
        assertThat(up.getShape()).isEqualTo(new Shape(1, 1, 4, 4));
        assertThat(up.toFloatArray()).containsExactly(1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4);
    }

    @Test
    void shouldGiveZeroCosineDistanceForParallelMapsAndNormalisedMseInvariantToScale() {
        NDArray a = manager.create(new float[] {1, 2, 3, 4, 5, 6}, new Shape(2, 3));
        NDArray b = a.mul(7f);
        NDArray identity = manager.create(new float[] {1, 0, 0, 0, 1, 0, 0, 0, 1}, new Shape(3, 3));
        FeaturePair pair = new FeaturePair(new FeatureDescriptor("s", 0, List.of(3)), new FeatureDescriptor("t", 0, List.of(3)));
        FeatureKd cosine = FeatureKd.create(manager, List.of(pair), FeatureKd.Distance.COSINE, false, 1);
        FeatureKd normMse = FeatureKd.create(manager, List.of(pair), FeatureKd.Distance.MSE, true, 1);
        cosine.adapters().get("s->t").set(identity.toFloatArray());
        normMse.adapters().get("s->t").set(identity.toFloatArray());

        assertThat(cosine.loss(Map.of("s", a), Map.of("t", b)).getFloat()).isCloseTo(0f, within(1e-6f));
        assertThat(normMse.loss(Map.of("s", a), Map.of("t", b)).getFloat()).isCloseTo(0f, within(1e-9f));
        // sanity: without normalisation the scale difference shows
        FeatureKd plainMse = FeatureKd.create(manager, List.of(pair), FeatureKd.Distance.MSE, false, 1);
        plainMse.adapters().get("s->t").set(identity.toFloatArray());
        assertThat(plainMse.loss(Map.of("s", a), Map.of("t", b)).getFloat()).isGreaterThan(1f);
    }

    @Test
    void shouldTrainAdapterButNeverTheTeacherMap() {
        FeaturePair pair = new FeaturePair(new FeatureDescriptor("s", 0, List.of(2)), new FeatureDescriptor("t", 0, List.of(2)));
        FeatureKd kd = FeatureKd.create(manager, List.of(pair), FeatureKd.Distance.MSE, false, 5);
        NDArray t = manager.create(new float[] {1, -1}, new Shape(1, 2));
        t.setRequiresGradient(true);
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            gc.backward(kd.loss(Map.of("s", manager.create(new float[] {0.5f, 2f}, new Shape(1, 2))), Map.of("t", t)));
        }
        assertThat(kd.adapters().get("s->t").getGradient().abs().sum().getFloat()).isPositive();
        assertThat(t.getGradient().abs().sum().getFloat()).isZero();
    }

    @Test
    void shouldKeepGradientsFiniteWhenAStudentFeatureVectorIsExactlyZero() {
        // all-zero student features (e.g. a dead ReLU layer) once turned the gradient into NaN through sqrt'(0)
        FeaturePair pair = new FeaturePair(new FeatureDescriptor("s", 0, List.of(3)), new FeatureDescriptor("t", 0, List.of(3)));
        for (FeatureKd.Distance distance : FeatureKd.Distance.values()) {
            for (boolean normalize : new boolean[] {true, false}) {
                FeatureKd kd = FeatureKd.create(manager, List.of(pair), distance, normalize, 3);
                NDArray s = manager.create(new float[] {0, 0, 0, 1, 2, 3}, new Shape(2, 3));
                s.setRequiresGradient(true);
                NDArray t = manager.create(new float[] {1, -1, 2, 0.5f, 0.5f, 0.5f}, new Shape(2, 3));
                float loss;
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray l = kd.loss(Map.of("s", s), Map.of("t", t));
                    loss = l.getFloat();
                    gc.backward(l);
                }
                String what = distance + (normalize ? " normalised" : "");
                assertThat(Float.isFinite(loss)).as(what + " loss").isTrue();
                for (float g : kd.adapters().get("s->t").getGradient().toFloatArray()) {
                    assertThat(Float.isFinite(g)).as(what + " adapter gradient").isTrue();
                }
                for (float g : s.getGradient().toFloatArray()) {
                    assertThat(Float.isFinite(g)).as(what + " student gradient").isTrue();
                }
            }
        }
    }
}
