package io.kdstream.teacher.train;

import java.util.Random;

/**
 * Seeded training-time augmentation of single-channel images: a random shift of up to {@code maxShift} pixels
 * along each axis with zero fill (the same as padding by {@code maxShift} and cropping back to the original size at a
 * random offset), then, if {@code horizontalFlip}, a left-right mirror with probability one half. Labels are untouched:
 * every transform keeps the class of a Fashion-MNIST image. The draws for one image are, in order, the row shift, the
 * column shift and the flip, so a given {@link Random} state always gives the same images.
 *
 * @param maxShift       largest shift in pixels along each axis, 0 for none
 * @param horizontalFlip whether to mirror half of the images left-right
 */
public record Augmentation(int maxShift, boolean horizontalFlip) {

    /** No augmentation: images are used as they are. */
    public static final Augmentation NONE = new Augmentation(0, false);

    /** Shifts of up to 2 pixels (pad 2, random 28x28 crop) and horizontal flips: the teacher's default. */
    public static final Augmentation SHIFT_AND_FLIP = new Augmentation(2, true);

    public Augmentation {
        if (maxShift < 0) {
            throw new IllegalArgumentException("maxShift must be >= 0, got " + maxShift);
        }
    }

    /** Whether this changes any image at all. */
    public boolean enabled() {
        return maxShift > 0 || horizontalFlip;
    }

    /**
     * Transforms {@code n} images of {@code rows x cols} pixels stored one after the other in {@code images}, in place.
     *
     * @param random the source of the draws (advanced by this call only when {@link #enabled()})
     */
    public void apply(float[] images, int n, int rows, int cols, Random random) {
        int size = rows * cols;
        if (n < 0 || (long) n * size > images.length) {
            throw new IllegalArgumentException(n + " images of " + rows + "x" + cols + " do not fit in " + images.length + " values");
        }
        if (!enabled()) {
            return;
        }
        float[] source = new float[size];
        for (int i = 0; i < n; i++) {
            int dy = maxShift > 0 ? random.nextInt(2 * maxShift + 1) - maxShift : 0;
            int dx = maxShift > 0 ? random.nextInt(2 * maxShift + 1) - maxShift : 0;
            boolean flip = horizontalFlip && random.nextBoolean();
            transform(images, i * size, rows, cols, dy, dx, flip, source);
        }
    }

    /**
     * Out pixel {@code (y, x)} takes the pixel at row {@code y - dy} and column {@code x - dx} of the image, mirrored
     * left-right first when {@code flip}; pixels from outside the image are 0.
     */
    static void transform(float[] images, int offset, int rows, int cols, int dy, int dx, boolean flip, float[] scratch) {
        System.arraycopy(images, offset, scratch, 0, rows * cols);
        for (int y = 0; y < rows; y++) {
            int sy = y - dy;
            for (int x = 0; x < cols; x++) {
                int sx = x - dx;
                float v = 0f;
                if (sy >= 0 && sy < rows && sx >= 0 && sx < cols) {
                    v = scratch[sy * cols + (flip ? cols - 1 - sx : sx)];
                }
                images[offset + y * cols + x] = v;
            }
        }
    }
}
