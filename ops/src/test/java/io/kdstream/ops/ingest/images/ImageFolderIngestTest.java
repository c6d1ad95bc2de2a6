package io.kdstream.ops.ingest.images;

import io.kdstream.avro.DType;
import io.kdstream.avro.InputRecord;
import io.kdstream.core.KdException;
import io.kdstream.core.data.LabelSelection;
import io.kdstream.schemas.tensor.TensorCodec;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ImageFolderIngestTest {

    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-02T03:04:05Z"), ZoneOffset.UTC);

    @TempDir
    Path root;

    @Test
    void shouldNumberClassesByNameAndPublishChannelMajorRgbPixelsWithRelativePathIds() throws IOException {
        colour(root.resolve("dog/c.png"), 4, 6, 3);
        colour(root.resolve("cat/b.png"), 4, 6, 2);
        colour(root.resolve("cat/a.png"), 4, 6, 1);
        colour(root.resolve("bird/nested/d.png"), 4, 6, 4);
        Files.writeString(root.resolve("dog/notes.txt"), "not an image");

        ImageFolder folder = ImageFolder.scan(root, null);
        ImageFolderIngest ingest = ImageFolderIngest.prepare(folder, null, null, ImageFolderIngest.Channels.AUTO, 0);
        List<InputRecord> records = readAll(ingest, LabelSelection.ALL);

        assertThat(folder.classes()).containsExactly("bird", "cat", "dog");
        assertThat(folder.ignored()).isEqualTo(1);
        assertThat(ingest.source()).isEqualTo("images/" + root.getFileName());
        assertThat(records).extracting(InputRecord::getId)
                .containsExactly("bird/nested/d.png", "cat/a.png", "cat/b.png", "dog/c.png");
        assertThat(records).extracting(InputRecord::getLabel).containsExactly(0, 1, 1, 2);
        assertThat(records).extracting(r -> r.getAttributes().get("class")).containsExactly("bird", "cat", "cat", "dog");
        assertThat(records).extracting(r -> r.getAttributes().get("index")).containsExactly("0", "1", "2", "3");
        int[] seeds = {4, 1, 2, 3};
        for (int i = 0; i < records.size(); i++) {
            InputRecord r = records.get(i);
            assertThat(r.getInput().getDtype()).isEqualTo(DType.UINT8);
            assertThat(r.getInput().getShape()).containsExactly(3, 4, 6);
            assertThat(TensorCodec.toUint8("input", r.getInput())).containsExactly(expectedPlanes(4, 6, seeds[i]));
        }
        assertThat(ingest.skipped()).isEmpty();
    }

    @Test
    void shouldShuffleAcrossClassesTheSameWayForTheSameSeed() throws IOException {
        for (String cls : List.of("a", "b", "c")) {
            for (int i = 0; i < 10; i++) {
                colour(root.resolve(cls + "/" + i + ".png"), 2, 2, i);
            }
        }
        ImageFolder folder = ImageFolder.scan(root, null);
        List<String> sorted = folder.images().stream().map(ImageFolder.Entry::relativePath).toList();

        List<String> once = folder.shuffled(7).images().stream().map(ImageFolder.Entry::relativePath).toList();
        List<String> again = folder.shuffled(7).images().stream().map(ImageFolder.Entry::relativePath).toList();
        List<String> other = folder.shuffled(8).images().stream().map(ImageFolder.Entry::relativePath).toList();

        // a permutation of the same images, the same one for the same seed, with the classes mixed in the first ten
        assertThat(once).containsExactlyInAnyOrderElementsOf(sorted).isEqualTo(again).isNotEqualTo(sorted)
                .isNotEqualTo(other);
        assertThat(once.subList(0, 10).stream().map(p -> p.substring(0, 1)).distinct()).hasSizeGreaterThan(1);
        assertThat(folder.shuffled(7).classes()).isEqualTo(folder.classes());
    }

    @Test
    void shouldSkipAndNameCorruptAndTruncatedImagesAndKeepTheOthers() throws IOException {
        colour(root.resolve("a/good.png"), 5, 5, 1);
        Files.writeString(root.resolve("a/garbage.png"), "these bytes are no PNG");
        Path whole = colour(root.resolve("b/whole.png"), 5, 5, 2);
        byte[] bytes = Files.readAllBytes(whole);
        Path truncated = Files.write(root.resolve("b/truncated.png"), Arrays.copyOf(bytes, bytes.length / 2));

        ImageFolderIngest ingest = ImageFolderIngest.prepare(ImageFolder.scan(root, null), "mine", null,
                ImageFolderIngest.Channels.AUTO, 0);
        List<InputRecord> records = readAll(ingest, LabelSelection.ALL);

        assertThat(records).extracting(InputRecord::getId).containsExactly("a/good.png", "b/whole.png");
        assertThat(ingest.skipped()).extracting(ImageFolderIngest.Skipped::relativePath)
                .containsExactlyInAnyOrder("a/garbage.png", "b/truncated.png");
        assertThat(ingest.skipped()).allSatisfy(s -> assertThat(s.reason()).isNotBlank());
        assertThat(truncated).exists();
    }

    @Test
    void shouldRefuseImagesOfDifferentSizesWithoutResizeNamingBothFiles() throws IOException {
        colour(root.resolve("a/first.png"), 4, 4, 1);
        colour(root.resolve("b/other.png"), 4, 5, 2);

        assertThatThrownBy(() -> ImageFolderIngest.prepare(ImageFolder.scan(root, null), null, null,
                ImageFolderIngest.Channels.AUTO, 0))
                .isInstanceOf(KdException.class)
                .hasMessageContaining(root.resolve("b/other.png").toString())
                .hasMessageContaining(root.resolve("a/first.png").toString())
                .hasMessageContaining("4x5").hasMessageContaining("--resize");
    }

    @Test
    void shouldResizeEveryImageToTheRequestedSize() throws IOException {
        solid(root.resolve("a/small.png"), 4, 4, 0x336699);
        solid(root.resolve("b/wide.png"), 10, 20, 0xcc8844);
        colour(root.resolve("b/exact.png"), 8, 6, 5);

        ImageFolderIngest ingest = ImageFolderIngest.prepare(ImageFolder.scan(root, null), null,
                ImageFolderIngest.Size.parse("8x6"), ImageFolderIngest.Channels.AUTO, 0);
        List<InputRecord> records = readAll(ingest, LabelSelection.ALL);

        assertThat(records).hasSize(3).allSatisfy(r -> assertThat(r.getInput().getShape()).containsExactly(3, 8, 6));
        // a solid colour stays that colour at any size; an image already at the size is untouched
        assertThat(TensorCodec.toUint8("input", records.get(0).getInput())).containsExactly(solidPlanes(8, 6, 0x336699));
        assertThat(TensorCodec.toUint8("input", records.get(2).getInput())).containsExactly(solidPlanes(8, 6, 0xcc8844));
        assertThat(TensorCodec.toUint8("input", records.get(1).getInput())).containsExactly(expectedPlanes(8, 6, 5));
    }

    @Test
    void shouldPublishOneChannelWhenEveryImageIsGreyAndReplicateGreyAmongColour() throws IOException {
        grey(root.resolve("a/g1.png"), 3, 4, 7);
        grey(root.resolve("b/g2.png"), 3, 4, 9);

        List<InputRecord> greyOnly = readAll(ImageFolderIngest.prepare(ImageFolder.scan(root, null), null, null,
                ImageFolderIngest.Channels.AUTO, 0), LabelSelection.ALL);
        assertThat(greyOnly.get(0).getInput().getShape()).containsExactly(1, 3, 4);
        assertThat(TensorCodec.toUint8("input", greyOnly.get(0).getInput())).containsExactly(greyPlane(3, 4, 7));

        colour(root.resolve("c/rgb.png"), 3, 4, 1);
        List<InputRecord> mixed = readAll(ImageFolderIngest.prepare(ImageFolder.scan(root, null), null, null,
                ImageFolderIngest.Channels.AUTO, 0), LabelSelection.ALL);
        assertThat(mixed).allSatisfy(r -> assertThat(r.getInput().getShape()).containsExactly(3, 3, 4));
        byte[] plane = greyPlane(3, 4, 9);
        byte[] replicated = new byte[3 * plane.length];
        for (int c = 0; c < 3; c++) {
            System.arraycopy(plane, 0, replicated, c * plane.length, plane.length);
        }
        assertThat(TensorCodec.toUint8("input", mixed.get(1).getInput())).containsExactly(replicated);
    }

    @Test
    void shouldDropAlphaKeepingTheStoredColour() throws IOException {
        BufferedImage img = new BufferedImage(2, 2, BufferedImage.TYPE_INT_ARGB);
        img.setRGB(0, 0, 0x00ff0000); // fully transparent red
        img.setRGB(1, 0, 0x8000ff00);
        img.setRGB(0, 1, 0xff0000ff);
        img.setRGB(1, 1, 0xff102030);
        Files.createDirectories(root.resolve("a"));
        ImageIO.write(img, "png", root.resolve("a/alpha.png").toFile());

        InputRecord r = readAll(ImageFolderIngest.prepare(ImageFolder.scan(root, null), null, null,
                ImageFolderIngest.Channels.AUTO, 0), LabelSelection.ALL).get(0);

        assertThat(r.getInput().getShape()).containsExactly(3, 2, 2);
        assertThat(TensorCodec.toUint8("input", r.getInput())).containsExactly(
                (byte) 255, 0, 0, 0x10, 0, (byte) 255, 0, 0x20, 0, 0, (byte) 255, 0x30);
    }

    @Test
    void shouldTakeTheClassIndicesFromAClassesFileAndRefuseOneThatMissesAFolder() throws IOException {
        colour(root.resolve("cat/a.png"), 2, 2, 1);
        colour(root.resolve("dog/b.png"), 2, 2, 2);
        Path classes = Files.writeString(root.resolve("classes.txt"), "dog\ncat\nbird\n");
        Path partial = Files.writeString(root.getParent().resolve(root.getFileName() + "-partial.txt"), "cat\n");

        ImageFolder folder = ImageFolder.scan(root, classes);
        List<InputRecord> records = readAll(ImageFolderIngest.prepare(folder, null, null,
                ImageFolderIngest.Channels.AUTO, 0), new LabelSelection(0, 1));

        assertThat(folder.classes()).containsExactly("dog", "cat", "bird");
        assertThat(folder.images()).extracting(ImageFolder.Entry::classIndex).containsExactly(1, 0);
        assertThat(records).extracting(InputRecord::getLabel).containsOnlyNulls();
        assertThatThrownBy(() -> ImageFolder.scan(root, partial)).isInstanceOf(KdException.class)
                .hasMessageContaining(partial.toString()).hasMessageContaining("'dog'");
        Path written = root.resolve("out.txt");
        folder.writeClasses(written);
        assertThat(Files.readAllLines(written)).containsExactly("dog", "cat", "bird");
    }

    @Test
    void shouldParseSizesHeightFirst() {
        assertThat(ImageFolderIngest.Size.parse("32x48")).isEqualTo(new ImageFolderIngest.Size(32, 48));
        assertThatThrownBy(() -> ImageFolderIngest.Size.parse("32")).hasMessageContaining("HxW");
        assertThatThrownBy(() -> ImageFolderIngest.Size.parse("0x3")).hasMessageContaining("HxW");
    }

    // ------------------------------------------------------------------ fixtures

    private static List<InputRecord> readAll(ImageFolderIngest ingest, LabelSelection selection) {
        List<InputRecord> out = new ArrayList<>();
        ingest.records(selection, CLOCK).forEachRemaining(out::add);
        return out;
    }

    /** Pixel (y, x) of image {@code seed}: r = 10 y + seed, g = 20 x + seed, b = 3 (x + y) + 7 seed. */
    static Path colour(Path file, int h, int w, int seed) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, (r(y, seed) << 16) | (g(x, seed) << 8) | b(x, y, seed));
            }
        }
        Files.createDirectories(file.getParent());
        ImageIO.write(img, "png", file.toFile());
        return file;
    }

    static byte[] expectedPlanes(int h, int w, int seed) {
        byte[] out = new byte[3 * h * w];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                out[y * w + x] = (byte) r(y, seed);
                out[h * w + y * w + x] = (byte) g(x, seed);
                out[2 * h * w + y * w + x] = (byte) b(x, y, seed);
            }
        }
        return out;
    }

    private static int r(int y, int seed) {
        return (10 * y + seed) & 0xff;
    }

    private static int g(int x, int seed) {
        return (20 * x + seed) & 0xff;
    }

    private static int b(int x, int y, int seed) {
        return (3 * (x + y) + 7 * seed) & 0xff;
    }

    private static void solid(Path file, int h, int w, int rgb) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, rgb);
            }
        }
        Files.createDirectories(file.getParent());
        ImageIO.write(img, "png", file.toFile());
    }

    private static byte[] solidPlanes(int h, int w, int rgb) {
        byte[] out = new byte[3 * h * w];
        for (int c = 0; c < 3; c++) {
            Arrays.fill(out, c * h * w, (c + 1) * h * w, (byte) (rgb >>> (16 - 8 * c)));
        }
        return out;
    }

    private static void grey(Path file, int h, int w, int seed) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        byte[] plane = greyPlane(h, w, seed);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.getRaster().setSample(x, y, 0, plane[y * w + x] & 0xff);
            }
        }
        Files.createDirectories(file.getParent());
        ImageIO.write(img, "png", file.toFile());
    }

    private static byte[] greyPlane(int h, int w, int seed) {
        byte[] out = new byte[h * w];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) (i * 17 + seed * 5);
        }
        return out;
    }
}
