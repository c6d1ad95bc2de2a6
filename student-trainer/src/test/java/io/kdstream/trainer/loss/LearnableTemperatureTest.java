package io.kdstream.trainer.loss;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class LearnableTemperatureTest {
    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    /** Plain SGD on the temperature alone against fixed student and teacher logits. */
    private double train(double anchorWeight, int steps) {
        LearnableTemperature t = LearnableTemperature.create(manager, 4.0, 1.0, 8.0, 1.0, 5, anchorWeight);
        float[] s = {2f, -1f, 0.5f, 0f, 3f, -2f};
        float[] te = {0f, 1f, 2f, 1f, -1f, 0.5f};
        for (int step = 0; step < steps; step++) {
            try (NDManager batch = manager.newSubManager()) {
                NDArray student = batch.create(s, new Shape(2, 3));
                NDArray teacher = batch.create(te, new Shape(2, 3));
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray loss = Losses.hintonKd(student, teacher, t.forLoss(batch, step), KlDirection.FORWARD);
                    NDArray reg = t.regularizer(batch);
                    gc.backward(reg == null ? loss : loss.add(reg));
                }
                NDArray grad = t.parameter().getGradient();
                grad.attach(batch);
                float g = grad.getFloat();
                t.parameter().set(new float[] {t.parameter().getFloat() - 2.0f * g});
                grad.set(new float[] {0f});
                t.project();
            }
        }
        return t.current();
    }

    @Test
    void shouldRunToItsClampWithoutTheAnchorRegulariser() {
        double t = train(0, 200);
        assertThat(t).satisfiesAnyOf(v -> assertThat(v).isEqualTo(8.0), v -> assertThat(v).isEqualTo(1.0));
    }

    @Test
    void shouldStayNearTheAnchorWithTheRegulariser() {
        // plain SGD with step 2.0: the regulariser weight must keep 2 · 2 · weight < 1 to converge
        double t = train(0.2, 200);
        assertThat(t).isCloseTo(4.0, within(0.25));
    }

    @Test
    void shouldReceiveAReversedGradient() {
        // Without reversal the temperature would follow −dL/dT; through the GRL at λ it follows +λ·dL/dT.
        LearnableTemperature t = LearnableTemperature.create(manager, 4.0, 1.0, 10.0, 1.0, 1, 0);
        NDArray student = manager.create(new float[] {2f, -1f, 0.5f}, new Shape(1, 3));
        NDArray teacher = manager.create(new float[] {0f, 1f, 2f}, new Shape(1, 3));
        NDArray plainT = manager.create(4f);
        plainT.setRequiresGradient(true);
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            gc.backward(Losses.hintonKd(student, teacher, plainT, KlDirection.FORWARD));
        }
        float plain = plainT.getGradient().getFloat();
        try (NDManager batch = manager.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            gc.backward(Losses.hintonKd(student, teacher, t.forLoss(batch, 10), KlDirection.FORWARD));
        }
        assertThat(t.parameter().getGradient().getFloat()).isCloseTo(-plain, within(1e-6f));
        assertThat(plain).isNotZero();
    }
}
