package io.kdstream.core.data;

import io.kdstream.core.KdException;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;

/**
 * One split of Fashion-MNIST read from the IDX files (gzip-compressed or plain): 28x28 uint8 images and labels 0-9.
 * Images are held in one contiguous array so that batches can be copied out without per-image objects.
 */
public final class FashionMnist {
    /** Where Debian's {@code dataset-fashion-mnist} package installs the files. */
    public static final Path DEFAULT_DIR = Path.of("/usr/share/datasets/fashion-mnist");
    public static final int NUM_CLASSES = 10;
    public static final List<String> CLASS_NAMES = List.of(
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    private static final int IMAGES_MAGIC = 0x00000803;
    private static final int LABELS_MAGIC = 0x00000801;

    /** A split of the dataset and the IDX file stem of its files. */
    public enum Split {
        TRAIN("train"), TEST("t10k");

        private final String fileStem;

        Split(String fileStem) {
            this.fileStem = fileStem;
        }

        /** Lower-case name used in ids and sources: {@code train} or {@code test}. */
        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        public String imagesFile() {
            return fileStem + "-images-idx3-ubyte";
        }

        public String labelsFile() {
            return fileStem + "-labels-idx1-ubyte";
        }
    }

    private final Split split;
    private final int rows;
    private final int cols;
    private final byte[] pixels;
    private final int[] labels;

    private FashionMnist(Split split, int rows, int cols, byte[] pixels, int[] labels) {
        this.split = split;
        this.rows = rows;
        this.cols = cols;
        this.pixels = pixels;
        this.labels = labels;
    }

    /**
     * Reads one split from {@code dir}, which holds the four IDX files, each either gzip-compressed ({@code .gz}) or
     * plain.
     *
     * @throws KdException when the directory or a file is missing (with how to get them) or a file is corrupt
     */
    public static FashionMnist load(Path dir, Split split) {
        requireDataset(dir);
        Path imagesFile = resolve(dir, split.imagesFile());
        Path labelsFile = resolve(dir, split.labelsFile());
        try {
            int[] labels = readLabels(labelsFile);
            try (DataInputStream in = open(imagesFile)) {
                int magic = in.readInt();
                if (magic != IMAGES_MAGIC) {
                    throw new KdException("Not an IDX image file (magic 0x" + Integer.toHexString(magic) + "): " + imagesFile);
                }
                int count = in.readInt();
                int rows = in.readInt();
                int cols = in.readInt();
                if (count != labels.length) {
                    throw new KdException("Image count " + count + " in " + imagesFile + " does not match label count "
                            + labels.length + " in " + labelsFile);
                }
                if (rows <= 0 || cols <= 0 || (long) count * rows * cols > Integer.MAX_VALUE - 8) {
                    throw new KdException("Implausible IDX image dimensions " + count + "x" + rows + "x" + cols + " in " + imagesFile);
                }
                byte[] pixels = new byte[count * rows * cols];
                in.readFully(pixels);
                return new FashionMnist(split, rows, cols, pixels, labels);
            }
        } catch (EOFException e) {
            throw new KdException("Truncated IDX file in " + dir + " (" + split.id() + " split)", e);
        } catch (IOException e) {
            throw new KdException("Cannot read Fashion-MNIST " + split.id() + " split from " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Checks that {@code dir} holds the four IDX files.
     *
     * @throws KdException naming the missing file and how to get the dataset
     */
    public static void requireDataset(Path dir) {
        for (Split s : Split.values()) {
            for (String stem : List.of(s.imagesFile(), s.labelsFile())) {
                if (!Files.isRegularFile(dir.resolve(stem + ".gz")) && !Files.isRegularFile(dir.resolve(stem))) {
                    throw new KdException("Fashion-MNIST not found: " + dir.resolve(stem + ".gz") + " is missing. "
                            + "Install it with 'apt-get install dataset-fashion-mnist' (Debian/Ubuntu), "
                            + "or pass --data DIR pointing at a directory with the four IDX files "
                            + "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
                            + "t10k-labels-idx1-ubyte.gz).");
                }
            }
        }
    }

    private static Path resolve(Path dir, String stem) {
        Path gz = dir.resolve(stem + ".gz");
        return Files.isRegularFile(gz) ? gz : dir.resolve(stem);
    }

    private static DataInputStream open(Path file) throws IOException {
        InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        if (file.getFileName().toString().endsWith(".gz")) {
            raw = new GZIPInputStream(raw, 1 << 16);
        }
        return new DataInputStream(raw);
    }

    private static int[] readLabels(Path file) throws IOException {
        try (DataInputStream in = open(file)) {
            int magic = in.readInt();
            if (magic != LABELS_MAGIC) {
                throw new KdException("Not an IDX label file (magic 0x" + Integer.toHexString(magic) + "): " + file);
            }
            int count = in.readInt();
            if (count < 0 || count > 100_000_000) {
                throw new KdException("Implausible IDX label count " + count + " in " + file);
            }
            byte[] raw = new byte[count];
            in.readFully(raw);
            int[] labels = new int[count];
            for (int i = 0; i < count; i++) {
                labels[i] = raw[i] & 0xFF;
                if (labels[i] >= NUM_CLASSES) {
                    throw new KdException("Label " + labels[i] + " out of range at index " + i + " in " + file);
                }
            }
            return labels;
        }
    }

    public Split split() {
        return split;
    }

    public int size() {
        return labels.length;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** Bytes per image ({@code rows * cols}). */
    public int imageSize() {
        return rows * cols;
    }

    /** A copy of image {@code i}: {@code rows * cols} uint8 pixels, row-major. */
    public byte[] image(int i) {
        byte[] out = new byte[imageSize()];
        System.arraycopy(pixels, i * imageSize(), out, 0, imageSize());
        return out;
    }

    /** All images, contiguous and row-major ({@code size() * rows * cols}). The array is shared: do not modify it. */
    public byte[] pixels() {
        return pixels;
    }

    public int label(int i) {
        return labels[i];
    }

    /** All labels. The array is shared: do not modify it. */
    public int[] labels() {
        return labels;
    }

    /** Stable id of example {@code i}, e.g. {@code fmnist-train-00042}. */
    public String id(int i) {
        return id(split, i);
    }

    public static String id(Split split, int i) {
        return String.format(Locale.ROOT, "fmnist-%s-%05d", split.id(), i);
    }

    /** Source name of the split, e.g. {@code fashion-mnist/train}. */
    public String source() {
        return "fashion-mnist/" + split.id();
    }
}
