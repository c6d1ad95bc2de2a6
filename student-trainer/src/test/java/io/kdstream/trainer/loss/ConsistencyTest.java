package io.kdstream.trainer.loss;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class ConsistencyTest {
    private static final int B = 6;
    private static final int C = 4;

    private NDManager manager;
    private double[][] student;
    private double[][] teacher;
    private int[] labels;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        SplittableRandom r = new SplittableRandom(11);
        student = new double[B][C];
        teacher = new double[B][C];
        labels = new int[B];
        for (int i = 0; i < B; i++) {
            for (int c = 0; c < C; c++) {
                student[i][c] = r.nextDouble(-3, 3);
                teacher[i][c] = r.nextDouble(-3, 3);
            }
            labels[i] = r.nextInt(C);
        }
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private NDArray array(double[][] v) {
        float[] flat = new float[v.length * v[0].length];
        for (int i = 0; i < v.length; i++) {
            for (int c = 0; c < v[0].length; c++) {
                flat[i * v[0].length + c] = (float) v[i][c];
            }
        }
        return manager.create(flat, new Shape(v.length, v[0].length));
    }

    @Test
    void shouldEqualTemperatureSquaredForwardKlToTheEmaTeacher() {
        for (double t : new double[] {1, 2.5}) {
            double loss = Consistency.loss(array(student), array(teacher), t).getFloat();
            assertThat(loss).isCloseTo(Reference.hinton(student, teacher, t, true), within(1e-5));
        }
        assertThat(Consistency.loss(array(teacher), array(teacher), 2).getFloat()).isCloseTo(0f, within(1e-6f));
    }

    @Test
    void shouldPullOnlyTheStudentWithGradientTTimesProbabilityGapOverBatch() {
        double t = 2;
        NDArray s = array(student);
        NDArray e = array(teacher);
        s.setRequiresGradient(true);
        e.setRequiresGradient(true);
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            gc.backward(Consistency.loss(s, e, t));
        }
        float[] grad = s.getGradient().toFloatArray();
        for (int i = 0; i < B; i++) {
            double[] ps = Reference.softmax(student[i], t);
            double[] pt = Reference.softmax(teacher[i], t);
            for (int c = 0; c < C; c++) {
                assertThat((double) grad[i * C + c]).isCloseTo(t * (ps[c] - pt[c]) / B, within(1e-6));
            }
        }
        assertThat(e.getGradient().toFloatArray()).containsOnly(0f);
    }

    @Test
    void shouldRampTheWeightUpAlongTheSigmoidScheduleToItsFullValue() {
        assertThat(Consistency.weightAt(0.5, 0, 0)).isEqualTo(0.5);
        assertThat(Consistency.weightAt(0.5, 100, 0)).isCloseTo(0.5 * Math.exp(-5), within(1e-12));
        assertThat(Consistency.weightAt(0.5, 100, 50)).isCloseTo(0.5 * Math.exp(-5 * 0.25), within(1e-12));
        assertThat(Consistency.weightAt(0.5, 100, 100)).isEqualTo(0.5);
        assertThat(Consistency.weightAt(0.5, 100, 10_000)).isEqualTo(0.5);
        double previous = -1;
        for (long s = 0; s <= 100; s++) {
            double w = Consistency.weightAt(1.0, 100, s);
            assertThat(w).isGreaterThan(previous);
            previous = w;
        }
    }

    @Test
    void shouldAverageCrossEntropyOverLabelledExamplesOnly() {
        float[] mask = {1, 0, 1, 1, 0, 0};
        double[][] labelled = {student[0], student[2], student[3]};
        int[] labelledY = {labels[0], labels[2], labels[3]};
        double masked = Losses.crossEntropy(array(student), manager.create(labels), manager.create(mask)).getFloat();
        assertThat(masked).isCloseTo(Reference.crossEntropy(labelled, labelledY), within(1e-5));
        double all = Losses.crossEntropy(array(student), manager.create(labels), manager.create(new float[] {1, 1, 1, 1, 1, 1})).getFloat();
        assertThat(all).isCloseTo(Losses.crossEntropy(array(student), manager.create(labels)).getFloat(), within(1e-6));
    }

    @Test
    void shouldGiveAZeroLossAndGradientWhenNoExampleIsLabelled() {
        NDArray s = array(student);
        s.setRequiresGradient(true);
        NDArray loss;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            loss = Losses.crossEntropy(s, manager.create(labels), manager.create(new float[B]));
            gc.backward(loss);
        }
        assertThat(loss.getFloat()).isZero();
        assertThat(s.getGradient().toFloatArray()).containsOnly(0f);
    }
}
