package io.kdstream.trainer.state;

import io.kdstream.core.data.LabelSelection;
import java.util.SplittableRandom;

/**
 * The seeded input perturbations of the mean-teacher recipe: a random translation by up to {@code shift} pixels (zero
 * fill) and Gaussian pixel noise of standard deviation {@code noiseStd}, drawn per example from a generator seeded by
 * (seed, step, view). The same step and view always give the same perturbation, on resume and on replay; the student's
 * view (0) and the teacher's view (1) of one step differ.
 *
 * @param channels  channels of an input
 * @param height    rows of an input
 * @param width     columns of an input
 * @param noiseStd  standard deviation of the additive noise (0: none)
 * @param shift     largest translation in pixels along each axis (0: none)
 * @param seed      the run's seed
 */
public record Augmenter(int channels, int height, int width, double noiseStd, int shift, long seed) {

    public static final int STUDENT_VIEW = 0;
    public static final int TEACHER_VIEW = 1;

    public Augmenter {
        if (channels < 1 || height < 1 || width < 1) {
            throw new IllegalArgumentException("input dimensions must be positive");
        }
        if (!(noiseStd >= 0) || Double.isInfinite(noiseStd)) {
            throw new IllegalArgumentException("noise std must be a finite number >= 0, got " + noiseStd);
        }
        if (shift < 0 || shift >= Math.min(height, width)) {
            throw new IllegalArgumentException("shift must be in [0, " + Math.min(height, width) + "), got " + shift);
        }
    }

    /** Size of one input. */
    public int inputSize() {
        return channels * height * width;
    }

    /** A perturbed copy of the {@code n} inputs in {@code inputs} (row-major, {@code n × C × H × W}). */
    public float[] view(float[] inputs, int n, long step, int view) {
        int size = inputSize();
        if (inputs.length != n * size) {
            throw new IllegalArgumentException("expected " + n + " inputs of " + size + " values, got " + inputs.length);
        }
        float[] out = new float[inputs.length];
        if (noiseStd == 0 && shift == 0) {
            System.arraycopy(inputs, 0, out, 0, inputs.length);
            return out;
        }
        SplittableRandom random = new SplittableRandom(LabelSelection.mix(LabelSelection.mix(LabelSelection.mix(seed) + step) + view));
        int plane = height * width;
        for (int i = 0; i < n; i++) {
            int dy = shift == 0 ? 0 : random.nextInt(-shift, shift + 1);
            int dx = shift == 0 ? 0 : random.nextInt(-shift, shift + 1);
            for (int c = 0; c < channels; c++) {
                int base = i * size + c * plane;
                for (int y = 0; y < height; y++) {
                    int sy = y - dy;
                    for (int x = 0; x < width; x++) {
                        int sx = x - dx;
                        float v = sy >= 0 && sy < height && sx >= 0 && sx < width ? inputs[base + sy * width + sx] : 0f;
                        if (noiseStd > 0) {
                            v += (float) (random.nextGaussian() * noiseStd);
                        }
                        out[base + y * width + x] = v;
                    }
                }
            }
        }
        return out;
    }
}
