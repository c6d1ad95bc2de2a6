package io.kdstream.trainer.loss;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.function.BiFunction;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The task term gathers each label's log-probability instead of multiplying by a one-hot matrix and summing. The
 * golden hashes of every replay and crash test depend on that being the same arithmetic: loss and gradient are
 * compared bit for bit with the one-hot formulation the trainer used before, for every label layout the trainer and
 * the tests pass.
 */
class CrossEntropyGatherTest {
    private static final int B = 64;
    private static final int C = 10;

    private NDManager manager;
    private float[] logits;
    private int[] labels;
    private float[] mask;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        SplittableRandom r = new SplittableRandom(11);
        logits = new float[B * C];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) r.nextDouble(-8, 8);
        }
        labels = new int[B];
        mask = new float[B];
        for (int i = 0; i < B; i++) {
            labels[i] = r.nextInt(C);
            mask[i] = r.nextInt(10) == 0 ? 1f : 0f; // about 10% labelled, as on a mostly unlabelled stream
        }
        mask[0] = 1f;
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    /** The formulation before the gather: {@code -mean(sum(logSoftmax(z) * oneHot(y), 1))}. */
    private static NDArray oneHot(NDArray z, NDArray y) {
        return z.logSoftmax(1).mul(y.oneHot(C)).sum(new int[] {1}).neg().mean();
    }

    private static NDArray oneHotMasked(NDArray z, NDArray y, NDArray m) {
        NDArray perExample = z.logSoftmax(1).mul(y.oneHot(C)).sum(new int[] {1}).neg();
        return Losses.divide(perExample.mul(m).sum(), Math.max(1f, m.sum().getFloat()));
    }

    /** Loss bits followed by the gradient's bits. */
    private int[] bits(BiFunction<NDArray, NDManager, NDArray> loss) {
        NDArray z = manager.create(logits, new Shape(B, C));
        z.setRequiresGradient(true);
        float value;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray l = loss.apply(z, manager);
            value = l.getFloat();
            gc.backward(l);
        }
        float[] grad = z.getGradient().toFloatArray();
        int[] out = new int[grad.length + 1];
        out[0] = Float.floatToRawIntBits(value);
        for (int i = 0; i < grad.length; i++) {
            out[i + 1] = Float.floatToRawIntBits(grad[i]);
        }
        return out;
    }

    @Test
    void shouldGiveTheOneHotLossAndGradientBitForBitForEveryLabelLayout() {
        int[] before = bits((z, m) -> oneHot(z, m.create(labels)));

        // INT32 [B] as the tests pass them; INT64 [B, 1] as the trainer stages them
        assertThat(bits((z, m) -> Losses.crossEntropy(z, m.create(labels)))).isEqualTo(before);
        assertThat(bits((z, m) -> Losses.crossEntropy(z, m.create(labels).toType(DataType.INT64, false).reshape(B, 1))))
                .isEqualTo(before);
    }

    @Test
    void shouldGiveTheMaskedOneHotLossAndGradientBitForBitWithTheCountFromTheCaller() {
        int labelled = 0;
        for (float m : mask) {
            labelled += (int) m;
        }
        int[] before = bits((z, m) -> oneHotMasked(z, m.create(labels), m.create(mask)));

        assertThat(bits((z, m) -> Losses.crossEntropy(z, m.create(labels), m.create(mask)))).isEqualTo(before);
        int count = labelled;
        assertThat(bits((z, m) -> Losses.crossEntropy(z, m.create(labels).toType(DataType.INT64, false).reshape(B, 1),
                m.create(mask).reshape(B, 1), count))).isEqualTo(before);
    }
}
