package io.kdstream.core.data;

import io.kdstream.core.KdException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FashionMnistTest {

    @TempDir
    Path dir;

    @Test
    void shouldReadGzippedIdxImagesAndLabels() throws IOException {
        writeDataset(dir, 3, true);

        FashionMnist train = FashionMnist.load(dir, FashionMnist.Split.TRAIN);

        assertThat(train.size()).isEqualTo(3);
        assertThat(train.rows()).isEqualTo(2);
        assertThat(train.cols()).isEqualTo(2);
        assertThat(train.labels()).containsExactly(0, 1, 2);
        assertThat(train.image(1)).containsExactly(4, 5, 6, 7);
        assertThat(train.id(1)).isEqualTo("fmnist-train-00001");
        assertThat(train.source()).isEqualTo("fashion-mnist/train");
    }

    @Test
    void shouldReadUncompressedIdxFiles() throws IOException {
        writeDataset(dir, 2, false);

        FashionMnist test = FashionMnist.load(dir, FashionMnist.Split.TEST);

        assertThat(test.size()).isEqualTo(2);
        assertThat(test.id(0)).isEqualTo("fmnist-test-00000");
    }

    @Test
    void shouldExplainHowToInstallWhenDatasetIsMissing() {
        assertThatThrownBy(() -> FashionMnist.load(dir.resolve("nope"), FashionMnist.Split.TRAIN))
                .isInstanceOf(KdException.class)
                .hasMessageContaining("apt-get install dataset-fashion-mnist")
                .hasMessageContaining("--data DIR");
    }

    @Test
    void shouldRejectTruncatedImageFile() throws IOException {
        writeDataset(dir, 3, false);
        Path images = dir.resolve("train-images-idx3-ubyte");
        byte[] all = Files.readAllBytes(images);
        Files.write(images, java.util.Arrays.copyOf(all, all.length - 3));

        assertThatThrownBy(() -> FashionMnist.load(dir, FashionMnist.Split.TRAIN))
                .isInstanceOf(KdException.class)
                .hasMessageContaining("Truncated");
    }

    @Test
    void shouldRejectMismatchedCounts() throws IOException {
        writeDataset(dir, 3, false);
        writeLabels(dir.resolve("train-labels-idx1-ubyte"), 2, false);

        assertThatThrownBy(() -> FashionMnist.load(dir, FashionMnist.Split.TRAIN))
                .isInstanceOf(KdException.class)
                .hasMessageContaining("does not match label count");
    }

    /** Writes all four files with {@code n} 2x2 images: image i holds bytes 4i..4i+3, label i % 10. */
    static void writeDataset(Path dir, int n, boolean gzip) throws IOException {
        for (String stem : new String[] {"train", "t10k"}) {
            String suffix = gzip ? ".gz" : "";
            writeImages(dir.resolve(stem + "-images-idx3-ubyte" + suffix), n, gzip);
            writeLabels(dir.resolve(stem + "-labels-idx1-ubyte" + suffix), n, gzip);
        }
    }

    private static void writeImages(Path file, int n, boolean gzip) throws IOException {
        try (DataOutputStream out = new DataOutputStream(open(file, gzip))) {
            out.writeInt(0x803);
            out.writeInt(n);
            out.writeInt(2);
            out.writeInt(2);
            for (int i = 0; i < n * 4; i++) {
                out.writeByte(i);
            }
        }
    }

    private static void writeLabels(Path file, int n, boolean gzip) throws IOException {
        try (DataOutputStream out = new DataOutputStream(open(file, gzip))) {
            out.writeInt(0x801);
            out.writeInt(n);
            for (int i = 0; i < n; i++) {
                out.writeByte(i % 10);
            }
        }
    }

    private static OutputStream open(Path file, boolean gzip) throws IOException {
        OutputStream out = Files.newOutputStream(file);
        return gzip ? new GZIPOutputStream(out) : out;
    }
}
