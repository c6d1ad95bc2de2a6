package io.kdstream.trainer.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.engine.Engine;
import ai.djl.training.GradientCollector;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class LossesTest {
    private static final int B = 4;
    private static final int C = 5;

    private NDManager manager;
    private double[][] student;
    private double[][] teacher;
    private int[] labels;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        SplittableRandom r = new SplittableRandom(7);
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
    void shouldMatchHandComputedCrossEntropyForUniformLogits() {
        // All-zero logits: softmax is uniform, so the loss is ln(C) whatever the labels.
        NDArray logits = manager.zeros(new Shape(B, C));
        double loss = Losses.crossEntropy(logits, manager.create(labels)).getFloat();
        assertThat(loss).isCloseTo(Math.log(C), within(1e-6));
    }

    @Test
    void shouldMatchReferenceCrossEntropy() {
        double loss = Losses.crossEntropy(array(student), manager.create(labels)).getFloat();
        assertThat(loss).isCloseTo(Reference.crossEntropy(student, labels), within(1e-5));
    }

    @Test
    void shouldMatchReferenceForwardAndReverseKdWithTemperatureSquaredScaling() {
        for (double t : new double[] {1, 2, 4}) {
            double fwd = Losses.hintonKd(array(student), array(teacher), t, KlDirection.FORWARD).getFloat();
            double rev = Losses.hintonKd(array(student), array(teacher), t, KlDirection.REVERSE).getFloat();
            assertThat(fwd).isCloseTo(Reference.hinton(student, teacher, t, true), within(1e-5));
            assertThat(rev).isCloseTo(Reference.hinton(student, teacher, t, false), within(1e-5));
        }
        assertThat(Reference.hinton(student, teacher, 2, true)).isNotCloseTo(Reference.hinton(student, teacher, 2, false), within(1e-3));
    }

    @Test
    void shouldBeZeroWhenStudentEqualsTeacher() {
        assertThat(Losses.hintonKd(array(teacher), array(teacher), 3, KlDirection.FORWARD).getFloat()).isCloseTo(0f, within(1e-6f));
        assertThat(Losses.binaryKd(array(teacher), array(teacher), 2).getFloat()).isCloseTo(0f, within(1e-6f));
    }

    @Test
    void shouldMixTaskAndKdTermsByAlpha() {
        NDArray task = manager.create(2f);
        NDArray kd = manager.create(10f);
        assertThat(Losses.mix(task, kd, 0.25).getFloat()).isCloseTo(0.75f * 2 + 0.25f * 10, within(1e-6f));
        assertThat(Losses.mix(task, kd, 0).getFloat()).isEqualTo(2f);
    }

    @Test
    void shouldHaveGradientTTimesStudentMinusTeacherProbabilitiesOverBatchForForwardKd() {
        // d/dz_s [T² · mean_i KL(p_t ‖ p_s)] = T² · (1/B) · (1/T) · (p_s − p_t) = T · (p_s − p_t) / B
        double t = 3;
        NDArray s = array(student);
        s.setRequiresGradient(true);
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            gc.backward(Losses.hintonKd(s, array(teacher), t, KlDirection.FORWARD));
        }
        float[] grad = s.getGradient().toFloatArray();
        for (int i = 0; i < B; i++) {
            double[] ps = Reference.softmax(student[i], t);
            double[] pt = Reference.softmax(teacher[i], t);
            for (int c = 0; c < C; c++) {
                assertThat((double) grad[i * C + c]).isCloseTo(t * (ps[c] - pt[c]) / B, within(1e-6));
            }
        }
    }

    @Test
    void shouldNotPropagateGradientIntoTeacherLogits() {
        NDArray s = array(student);
        NDArray tt = array(teacher);
        s.setRequiresGradient(true);
        tt.setRequiresGradient(true);
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            gc.backward(Losses.hintonKd(s, tt, 2, KlDirection.FORWARD));
        }
        assertThat(tt.getGradient().abs().sum().getFloat()).isZero();
        assertThat(s.getGradient().abs().sum().getFloat()).isPositive();
    }

    @Test
    void shouldMatchReferenceBinaryKd() {
        double loss = Losses.binaryKd(array(student), array(teacher), 2).getFloat();
        assertThat(loss).isCloseTo(Reference.binaryKd(student, teacher, 2), within(1e-5));
        assertThat(loss).isPositive();
    }

    @Test
    void shouldStandardizeLogitsToZeroMeanUnitStd() {
        float[] out = Losses.standardize(array(student), 1e-7).toFloatArray();
        for (int i = 0; i < B; i++) {
            double[] ref = Reference.standardize(student[i], 1e-7);
            for (int c = 0; c < C; c++) {
                assertThat((double) out[i * C + c]).isCloseTo(ref[c], within(1e-5));
            }
        }
    }

    @Test
    void shouldMakeKdInvariantToTeacherLogitScaleAfterStandardisation() {
        double[][] scaled = new double[B][C];
        for (int i = 0; i < B; i++) {
            for (int c = 0; c < C; c++) {
                scaled[i][c] = 5 * teacher[i][c] + 1;
            }
        }
        NDArray s = Losses.standardize(array(student), 1e-7);
        double a = Losses.hintonKd(s, Losses.standardize(array(teacher), 1e-7), 2, KlDirection.FORWARD).getFloat();
        double b = Losses.hintonKd(s, Losses.standardize(array(scaled), 1e-7), 2, KlDirection.FORWARD).getFloat();
        assertThat(a).isCloseTo(b, within(1e-5));
    }

    @Test
    void shouldMatchReferenceDecoupledKd() {
        double loss = Losses.dkd(array(student), array(teacher), manager.create(labels), 1.0, 8.0, 4).getFloat();
        assertThat(loss).isCloseTo(Reference.dkd(student, teacher, labels, 1.0, 8.0, 4), within(1e-4));
        double tckdOnly = Losses.dkd(array(student), array(teacher), manager.create(labels), 1.0, 0.0, 4).getFloat();
        assertThat(tckdOnly).isCloseTo(Reference.dkd(student, teacher, labels, 1.0, 0.0, 4), within(1e-5));
    }

    @Test
    void shouldReverseAndScaleGradientThroughGradientReversalLayer() {
        NDArray x = manager.create(new float[] {1.5f, -2f});
        x.setRequiresGradient(true);
        NDArray y;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            y = Losses.gradientReversal(x, 0.5);
            gc.backward(y.mul(y).sum()); // d/dx (x²) = 2x, reversed and scaled: −0.5 · 2x = −x
        }
        assertThat(y.toFloatArray()).containsExactly(1.5f, -2f);
        assertThat(x.getGradient().toFloatArray()).containsExactly(-1.5f, 2f);
    }
}
