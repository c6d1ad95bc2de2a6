package io.kdstream.trainer.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DistillationLossesTest {
    private static final int B = 6;
    private static final int C = 5;

    private NDManager manager;
    private NDArray student;
    private NDArray teacher;
    private NDArray labels;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        SplittableRandom r = new SplittableRandom(11);
        float[] s = new float[B * C];
        float[] t = new float[B * C];
        int[] y = new int[B];
        for (int i = 0; i < s.length; i++) {
            s[i] = (float) r.nextDouble(-3, 3);
            t[i] = (float) r.nextDouble(-3, 3);
        }
        for (int i = 0; i < B; i++) {
            y[i] = r.nextInt(C);
        }
        student = manager.create(s, new Shape(B, C));
        teacher = manager.create(t, new Shape(B, C));
        labels = manager.create(y);
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private DistillationLoss.Inputs inputs(double t, KlDirection direction, AtomicInteger targetCalls) {
        return new DistillationLoss.Inputs(student, teacher, manager.create((float) t), t, direction, () -> {
            targetCalls.incrementAndGet();
            return labels;
        });
    }

    private static float[] values(NDArray a) {
        return a.toFloatArray();
    }

    @Test
    void shouldRegisterTheFourLogitTermsInDocumentedOrder() {
        assertThat(DistillationLosses.names()).containsExactly("hinton", "lskd", "dkd", "binary");
        assertThat(DistillationLosses.kinds()).filteredOn(DistillationLoss.Kind::learnableTemperature)
                .extracting(DistillationLoss.Kind::name).containsExactly("hinton", "lskd");
        assertThat(DistillationLosses.keys()).extracting(DistillationLoss.Key::name).containsExactly("kd.dkd.alpha", "kd.dkd.beta");
    }

    @Test
    void shouldComputeBitForBitWhatTheLossFunctionsGive() {
        Map<String, Double> settings = Map.of(DecoupledKd.ALPHA_CONFIG, 0.5, DecoupledKd.BETA_CONFIG, 3.0);
        for (KlDirection direction : KlDirection.values()) {
            AtomicInteger calls = new AtomicInteger();
            assertThat(values(DistillationLosses.create("hinton", settings::get).compute(inputs(3, direction, calls))))
                    .containsExactly(values(Losses.hintonKd(student, teacher, 3, direction)));
            assertThat(values(DistillationLosses.create("lskd", settings::get).compute(inputs(3, direction, calls))))
                    .containsExactly(values(Losses.hintonKd(Losses.standardize(student, StandardizedKd.EPS),
                            Losses.standardize(teacher, StandardizedKd.EPS), 3, direction)));
            assertThat(calls).as("hinton and lskd never build the targets").hasValue(0);
        }
        AtomicInteger calls = new AtomicInteger();
        assertThat(values(DistillationLosses.create("dkd", settings::get).compute(inputs(2, KlDirection.FORWARD, calls))))
                .containsExactly(values(Losses.dkd(student, teacher, labels, 0.5, 3.0, 2)));
        assertThat(calls).hasValue(1);
        assertThat(values(DistillationLosses.create("binary", settings::get).compute(inputs(2, KlDirection.FORWARD, calls))))
                .containsExactly(values(Losses.binaryKd(student, teacher, 2)));
    }

    @Test
    void shouldReadItsOwnKeysOnly() {
        // dkd reads exactly its two keys; the others read none (a settings lookup of any other key would throw)
        Map<String, Double> dkd = Map.of(DecoupledKd.ALPHA_CONFIG, 1.0, DecoupledKd.BETA_CONFIG, 8.0);
        for (String name : DistillationLosses.names()) {
            Map<String, Double> owned = name.equals("dkd") ? dkd : Map.of();
            assertThat(DistillationLosses.create(name, key -> {
                Double v = owned.get(key);
                if (v == null) {
                    throw new AssertionError(name + " read " + key + ", a key it does not own");
                }
                return v;
            })).isNotNull();
        }
    }

    @Test
    void shouldNameTheChoicesForAnUnknownTerm() {
        assertThatThrownBy(() -> DistillationLosses.kind("kl")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'kl'").hasMessageContaining("[hinton, lskd, dkd, binary]");
    }

    @Test
    void shouldRefuseAKeyOutsideKdOrADefaultBelowItsMinimum() {
        assertThatThrownBy(() -> new DistillationLoss.Key("trainer.x", 1, 0, "doc")).hasMessageContaining("kd.*");
        assertThatThrownBy(() -> new DistillationLoss.Key("kd.x", -1, 0, "doc")).hasMessageContaining("below its minimum");
    }
}
