package io.kdstream.it.support;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Synthetic "coloured shapes": 32x32 RGB images in five classes, drawn by the rules of
 * {@code src/test/python/make_shapes_teacher.py} (which trained the {@code torchscript/shapes_teacher.pt} fixture on
 * its own draws), so that teacher fits the images drawn here.
 *
 * <ul>
 *   <li>background: per channel a base level in [0, 100) plus per-pixel noise in [0, 40)</li>
 *   <li>shape: one colour, per channel in [130, 256); centre (cx, cy) in [10, 22)²; size r in [5, 9]</li>
 *   <li>0 square, 1 disc, 2 horizontal bar, 3 vertical bar, 4 cross (see the script for the exact masks)</li>
 * </ul>
 */
public final class Shapes {

    public static final List<String> CLASSES = List.of("square", "disc", "hbar", "vbar", "cross");
    public static final int SIZE = 32;

    private Shapes() {
    }

    /** One image of class {@code label}: UINT8, channels first, [3, 32, 32]. */
    public static byte[] draw(int label, SplittableRandom rng) {
        byte[] chw = new byte[3 * SIZE * SIZE];
        int[] colour = new int[3];
        for (int c = 0; c < 3; c++) {
            int base = rng.nextInt(100);
            for (int i = 0; i < SIZE * SIZE; i++) {
                chw[c * SIZE * SIZE + i] = (byte) (base + rng.nextInt(40));
            }
            colour[c] = 130 + rng.nextInt(126);
        }
        int cx = 10 + rng.nextInt(12);
        int cy = 10 + rng.nextInt(12);
        int r = 5 + rng.nextInt(5);
        int thin = Math.max(1, r / 3);
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE; x++) {
                int dx = Math.abs(x - cx);
                int dy = Math.abs(y - cy);
                boolean in = switch (label) {
                    case 0 -> dx <= r && dy <= r;
                    case 1 -> dx * dx + dy * dy <= r * r;
                    case 2 -> dy <= thin && dx <= r + 3;
                    case 3 -> dx <= thin && dy <= r + 3;
                    case 4 -> Math.abs(dx - dy) <= 1 && dx <= r;
                    default -> throw new IllegalArgumentException("no class " + label + " (0-4)");
                };
                if (in) {
                    for (int c = 0; c < 3; c++) {
                        chw[c * SIZE * SIZE + y * SIZE + x] = (byte) colour[c];
                    }
                }
            }
        }
        return chw;
    }

    /**
     * Writes {@code perClass} PNG images of every class under {@code root/<class name>/NNNNN.png} (the image-folder
     * layout) and returns {@code root}.
     */
    public static Path writeFolder(Path root, int perClass, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        try {
            for (int k = 0; k < CLASSES.size(); k++) {
                Path dir = Files.createDirectories(root.resolve(CLASSES.get(k)));
                for (int i = 0; i < perClass; i++) {
                    ImageIO.write(toImage(draw(k, rng)), "png", dir.resolve(String.format("%05d.png", i)).toFile());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return root;
    }

    private static BufferedImage toImage(byte[] chw) {
        BufferedImage image = new BufferedImage(SIZE, SIZE, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE; x++) {
                int i = y * SIZE + x;
                int rgb = (chw[i] & 0xff) << 16 | (chw[SIZE * SIZE + i] & 0xff) << 8 | (chw[2 * SIZE * SIZE + i] & 0xff);
                image.setRGB(x, y, rgb);
            }
        }
        return image;
    }
}
