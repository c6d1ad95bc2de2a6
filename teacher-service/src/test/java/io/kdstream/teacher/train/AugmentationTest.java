package io.kdstream.teacher.train;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AugmentationTest {

    /** A 3x4 image whose pixel (y, x) is 1 + 10 y + x, so every value says where it came from. */
    private static float[] numbered() {
        float[] img = new float[12];
        for (int y = 0; y < 3; y++) {
            for (int x = 0; x < 4; x++) {
                img[y * 4 + x] = 1 + 10 * y + x;
            }
        }
        return img;
    }

    @Test
    void shouldMirrorEachRowLeftRightOnAFlip() {
        float[] img = numbered();
        Augmentation.transform(img, 0, 3, 4, 0, 0, true, new float[12]);
        assertThat(img).containsExactly(
                4, 3, 2, 1,
                14, 13, 12, 11,
                24, 23, 22, 21);
    }

    @Test
    void shouldShiftDownAndRightWithZerosComingIn() {
        float[] img = numbered();
        Augmentation.transform(img, 0, 3, 4, 1, 2, false, new float[12]);
        assertThat(img).containsExactly(
                0, 0, 0, 0,
                0, 0, 1, 2,
                0, 0, 11, 12);
    }

    @Test
    void shouldShiftUpAndLeftAfterMirroring() {
        float[] img = numbered();
        Augmentation.transform(img, 0, 3, 4, -1, -1, true, new float[12]);
        // mirrored rows are (4 3 2 1), (14 13 12 11), (24 23 22 21); then row y takes row y+1, column x takes x+1
        assertThat(img).containsExactly(
                13, 12, 11, 0,
                23, 22, 21, 0,
                0, 0, 0, 0);
    }

    @Test
    void shouldTransformOnlyTheImageAtTheOffset() {
        float[] two = new float[24];
        System.arraycopy(numbered(), 0, two, 0, 12);
        System.arraycopy(numbered(), 0, two, 12, 12);
        Augmentation.transform(two, 12, 3, 4, 0, 0, true, new float[12]);
        float[] first = new float[12];
        System.arraycopy(two, 0, first, 0, 12);
        assertThat(first).containsExactly(numbered());
        assertThat(two[12]).isEqualTo(4);
    }

    @Test
    void shouldGiveTheSameImagesForTheSameSeedAndOtherImagesForAnother() {
        float[] batch = randomImages(64, 28, 28, 5);
        float[] a = batch.clone();
        float[] b = batch.clone();
        float[] c = batch.clone();
        Augmentation.SHIFT_AND_FLIP.apply(a, 64, 28, 28, new Random(9));
        Augmentation.SHIFT_AND_FLIP.apply(b, 64, 28, 28, new Random(9));
        Augmentation.SHIFT_AND_FLIP.apply(c, 64, 28, 28, new Random(10));
        assertThat(b).containsExactly(a);
        assertThat(c).isNotEqualTo(a);
        assertThat(a).isNotEqualTo(batch);
    }

    @Test
    void shouldOnlyMoveAndMirrorPixelsNeverInventValues() {
        float[] batch = randomImages(32, 28, 28, 1);
        float[] out = batch.clone();
        Augmentation.SHIFT_AND_FLIP.apply(out, 32, 28, 28, new Random(3));
        int flipped = 0;
        for (int i = 0; i < 32; i++) {
            // each output image equals one of the 25 shifts times 2 mirrorings of its own input image
            boolean found = false;
            for (int dy = -2; dy <= 2 && !found; dy++) {
                for (int dx = -2; dx <= 2 && !found; dx++) {
                    for (boolean flip : new boolean[] {false, true}) {
                        float[] candidate = new float[784];
                        System.arraycopy(batch, i * 784, candidate, 0, 784);
                        Augmentation.transform(candidate, 0, 28, 28, dy, dx, flip, new float[784]);
                        float[] actual = new float[784];
                        System.arraycopy(out, i * 784, actual, 0, 784);
                        if (java.util.Arrays.equals(candidate, actual)) {
                            found = true;
                            flipped += flip ? 1 : 0;
                            break;
                        }
                    }
                }
            }
            assertThat(found).as("image %d is a shift/flip of its input", i).isTrue();
        }
        assertThat(flipped).isBetween(4, 28);
    }

    @Test
    void shouldLeaveImagesAndTheRandomSourceAloneWhenDisabled() {
        float[] batch = randomImages(4, 28, 28, 2);
        float[] out = batch.clone();
        Random r = new Random(4);
        Augmentation.NONE.apply(out, 4, 28, 28, r);
        assertThat(out).containsExactly(batch);
        assertThat(r.nextLong()).isEqualTo(new Random(4).nextLong());
    }

    @Test
    void shouldRejectANegativeShiftAndABatchThatDoesNotFit() {
        assertThatThrownBy(() -> new Augmentation(-1, false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxShift");
        assertThatThrownBy(() -> Augmentation.SHIFT_AND_FLIP.apply(new float[100], 1, 28, 28, new Random(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("do not fit");
    }

    private static float[] randomImages(int n, int rows, int cols, long seed) {
        Random r = new Random(seed);
        float[] out = new float[n * rows * cols];
        for (int i = 0; i < out.length; i++) {
            out[i] = r.nextFloat();
        }
        return out;
    }
}
