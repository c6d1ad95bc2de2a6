package io.kdstream.trainer.state;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class AugmenterTest {
    private static final int N = 16;

    private static float[] images() {
        SplittableRandom r = new SplittableRandom(3);
        float[] x = new float[N * 784];
        for (int i = 0; i < N; i++) {
            // content inside the central 20x20 square, so a shift of up to 4 pixels keeps all of it
            for (int y = 4; y < 24; y++) {
                for (int c = 4; c < 24; c++) {
                    x[i * 784 + y * 28 + c] = (float) r.nextDouble();
                }
            }
        }
        return x;
    }

    @Test
    void shouldGiveTheSameViewForTheSameSeedStepAndView() {
        float[] x = images();
        Augmenter a = new Augmenter(1, 28, 28, 0.1, 2, 42);
        Augmenter b = new Augmenter(1, 28, 28, 0.1, 2, 42);
        assertThat(a.view(x, N, 7, Augmenter.STUDENT_VIEW)).containsExactly(b.view(x, N, 7, Augmenter.STUDENT_VIEW));
        assertThat(a.view(x, N, 7, Augmenter.TEACHER_VIEW)).containsExactly(b.view(x, N, 7, Augmenter.TEACHER_VIEW));
    }

    @Test
    void shouldPerturbTheStudentAndTeacherViewsDifferentlyAndPerStepAndSeed() {
        float[] x = images();
        Augmenter a = new Augmenter(1, 28, 28, 0.1, 2, 42);
        float[] student = a.view(x, N, 7, Augmenter.STUDENT_VIEW);
        assertThat(student).isNotEqualTo(a.view(x, N, 7, Augmenter.TEACHER_VIEW));
        assertThat(student).isNotEqualTo(a.view(x, N, 8, Augmenter.STUDENT_VIEW));
        assertThat(student).isNotEqualTo(new Augmenter(1, 28, 28, 0.1, 2, 43).view(x, N, 7, Augmenter.STUDENT_VIEW));
        assertThat(student).isNotEqualTo(x);
    }

    @Test
    void shouldOnlyTranslateWithoutNoiseKeepingEveryPixelOfCentredContent() {
        float[] x = images();
        float[] shifted = new Augmenter(1, 28, 28, 0, 4, 1).view(x, N, 0, Augmenter.STUDENT_VIEW);
        int moved = 0;
        for (int i = 0; i < N; i++) {
            double before = 0;
            double after = 0;
            for (int k = 0; k < 784; k++) {
                before += x[i * 784 + k];
                after += shifted[i * 784 + k];
            }
            assertThat(after).isCloseTo(before, within(1e-3));
            if (!java.util.Arrays.equals(java.util.Arrays.copyOfRange(x, i * 784, (i + 1) * 784),
                    java.util.Arrays.copyOfRange(shifted, i * 784, (i + 1) * 784))) {
                moved++;
            }
        }
        assertThat(moved).isGreaterThan(N / 2);
    }

    @Test
    void shouldAddNoiseOfTheConfiguredStandardDeviation() {
        float[] x = new float[N * 784];
        float[] noisy = new Augmenter(1, 28, 28, 0.2, 0, 5).view(x, N, 3, Augmenter.TEACHER_VIEW);
        double sum = 0;
        double sq = 0;
        for (float v : noisy) {
            sum += v;
            sq += v * v;
        }
        double mean = sum / noisy.length;
        assertThat(mean).isCloseTo(0, within(0.01));
        assertThat(Math.sqrt(sq / noisy.length - mean * mean)).isCloseTo(0.2, within(0.01));
    }

    @Test
    void shouldCopyTheInputsUnchangedWhenNothingIsConfigured() {
        float[] x = images();
        assertThat(new Augmenter(1, 28, 28, 0, 0, 5).view(x, N, 3, 0)).containsExactly(x);
    }

    @Test
    void shouldRejectAShiftAsLargeAsTheImage() {
        assertThatThrownBy(() -> new Augmenter(1, 28, 28, 0, 28, 5)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("shift");
    }
}
