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

/**
 * The task term of a batch that mixes labelled and unlabelled examples: cross-entropy averaged over the labelled ones
 * only (not the batch size), and nothing at all for an all-unlabelled batch.
 */
class MaskedTaskLossTest {
    private static final int B = 5;
    private static final int C = 4;

    private NDManager manager;
    private double[][] logits;
    private int[] labels;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        SplittableRandom r = new SplittableRandom(5);
        logits = new double[B][C];
        labels = new int[B];
        for (int i = 0; i < B; i++) {
            for (int c = 0; c < C; c++) {
                logits[i][c] = r.nextDouble(-2, 2);
            }
            labels[i] = r.nextInt(C);
        }
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private NDArray logitsArray() {
        float[] flat = new float[B * C];
        for (int i = 0; i < B; i++) {
            for (int c = 0; c < C; c++) {
                flat[i * C + c] = (float) logits[i][c];
            }
        }
        NDArray z = manager.create(flat, new Shape(B, C));
        z.setRequiresGradient(true);
        return z;
    }

    /** Loss and d loss / d logits of the masked cross-entropy. */
    private Object[] lossAndGradient(float[] mask) {
        NDArray z = logitsArray();
        double loss;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray l = Losses.crossEntropy(z, manager.create(labels), manager.create(mask));
            loss = l.getFloat();
            gc.backward(l);
        }
        return new Object[] {loss, z.getGradient().toFloatArray()};
    }

    @Test
    void shouldAverageTheTaskTermOverTheLabelledExamplesOfAMixedBatch() {
        float[] mask = {1, 0, 0, 1, 0};

        Object[] out = lossAndGradient(mask);

        // by hand: mean over the 2 labelled examples of -log softmax(z_i)[y_i]
        double expected = 0;
        for (int i = 0; i < B; i++) {
            if (mask[i] == 1) {
                expected -= Math.log(Reference.softmax(logits[i], 1)[labels[i]]);
            }
        }
        expected /= 2;
        assertThat((double) out[0]).isCloseTo(expected, within(1e-5));
        // d/dz_ic = m_i (softmax(z_i)_c - [c == y_i]) / sum(m): zero rows for the unlabelled examples
        float[] grad = (float[]) out[1];
        for (int i = 0; i < B; i++) {
            double[] p = Reference.softmax(logits[i], 1);
            for (int c = 0; c < C; c++) {
                double g = mask[i] * (p[c] - (c == labels[i] ? 1 : 0)) / 2;
                assertThat((double) grad[i * C + c]).as("gradient [%d][%d]", i, c).isCloseTo(g, within(1e-6));
            }
        }
    }

    @Test
    void shouldHaveNoTaskTermForAnAllUnlabelledBatch() {
        Object[] out = lossAndGradient(new float[B]);

        assertThat((double) out[0]).isZero();
        for (float g : (float[]) out[1]) {
            assertThat(g).isZero();
        }
    }

    @Test
    void shouldEqualThePlainCrossEntropyWhenEveryExampleIsLabelled() {
        float[] all = {1, 1, 1, 1, 1};

        Object[] out = lossAndGradient(all);

        assertThat((double) out[0]).isCloseTo(Reference.crossEntropy(logits, labels), within(1e-5));
    }
}
