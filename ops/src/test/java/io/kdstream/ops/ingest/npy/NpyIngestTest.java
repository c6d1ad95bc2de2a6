package io.kdstream.ops.ingest.npy;

import io.kdstream.avro.DType;
import io.kdstream.avro.InputRecord;
import io.kdstream.core.data.LabelSelection;
import io.kdstream.schemas.tensor.TensorCodec;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NpyIngestTest {

    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-02T03:04:05Z"), ZoneOffset.UTC);

    @TempDir
    Path dir;

    @Test
    void shouldReadAVersion1Uint8ArrayExampleByExampleWithInt64Labels() throws IOException {
        byte[] data = new byte[4 * 2 * 3];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 11);
        }
        Path x = NpyFiles.write(dir.resolve("digits.npy"), 1, "|u1", false, new long[] {4, 2, 3}, data);
        Path y = NpyFiles.write(dir.resolve("y.npy"), 1, "<i8", false, new long[] {4}, NpyFiles.longs(3, 0, 9, 1));

        List<InputRecord> records = readAll(x, y, LabelSelection.ALL);

        assertThat(records).extracting(InputRecord::getId)
                .containsExactly("digits-00000", "digits-00001", "digits-00002", "digits-00003");
        assertThat(records).extracting(InputRecord::getLabel).containsExactly(3, 0, 9, 1);
        for (int i = 0; i < 4; i++) {
            InputRecord r = records.get(i);
            assertThat(r.getSource()).isEqualTo("npy/digits");
            assertThat(r.getInput().getDtype()).isEqualTo(DType.UINT8);
            assertThat(r.getInput().getShape()).containsExactly(2, 3);
            assertThat(TensorCodec.toUint8("input", r.getInput())).containsExactly(Arrays.copyOfRange(data, i * 6, i * 6 + 6));
            assertThat(r.getAttributes()).containsEntry("file", "digits.npy").containsEntry("index", Integer.toString(i));
            assertThat(r.getTimestampMs()).isEqualTo(CLOCK.instant());
        }
    }

    @Test
    void shouldReadVersion2And3Float32ArraysWithInt32Labels() throws IOException {
        float[] values = new float[3 * 5];
        for (int i = 0; i < values.length; i++) {
            values[i] = i * 0.25f - 1f;
        }
        for (int version : new int[] {2, 3}) {
            Path x = NpyFiles.write(dir.resolve("f" + version + ".npy"), version, "<f4", false, new long[] {3, 5},
                    NpyFiles.floats(values));
            Path y = NpyFiles.write(dir.resolve("l" + version + ".npy"), version, "<i4", false, new long[] {3},
                    NpyFiles.ints(7, 8, 9));
            try (NpyIngest npy = NpyIngest.open(x, y, "my-source", "feat")) {
                assertThat(npy.header().major()).isEqualTo(version);
            }

            List<InputRecord> records = readAll(x, y, LabelSelection.ALL);

            assertThat(records).hasSize(3);
            for (int i = 0; i < 3; i++) {
                assertThat(records.get(i).getInput().getDtype()).isEqualTo(DType.FLOAT32);
                assertThat(records.get(i).getInput().getShape()).containsExactly(5);
                assertThat(TensorCodec.toFloats("input", records.get(i).getInput()))
                        .containsExactly(Arrays.copyOfRange(values, i * 5, i * 5 + 5));
                assertThat(records.get(i).getLabel()).isEqualTo(7 + i);
            }
        }
    }

    @Test
    void shouldPublishWithoutLabelsWhenThereIsNoLabelFileOrTheSelectionDropsThem() throws IOException {
        Path x = NpyFiles.write(dir.resolve("x.npy"), 1, "|u1", false, new long[] {200, 1}, new byte[200]);
        Path y = NpyFiles.write(dir.resolve("y.npy"), 1, "|u1", false, new long[] {200}, new byte[200]);

        assertThat(readAll(x, null, LabelSelection.ALL)).extracting(InputRecord::getLabel).containsOnlyNulls();
        List<InputRecord> some = readAll(x, y, new LabelSelection(0.25, 7));
        LabelSelection selection = new LabelSelection(0.25, 7);
        assertThat(some).allSatisfy(r -> assertThat(r.getLabel() != null).isEqualTo(selection.keeps(r.getId())));
        assertThat(some.stream().filter(r -> r.getLabel() != null).count()).isBetween(30L, 70L);
    }

    @Test
    void shouldRefuseABadMagicStringNamingTheFile() throws IOException {
        Path x = Files.write(dir.resolve("bad.npy"), "PK\u0003\u0004 this is a zip, not an array".getBytes());
        assertThatThrownBy(() -> NpyIngest.open(x, null, null, null)).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining(x.toString()).hasMessageContaining("magic");
    }

    @Test
    void shouldRefuseFortranOrderBigEndianObjectAndStructuredArrays() throws IOException {
        Path fortran = NpyFiles.write(dir.resolve("fortran.npy"), 1, "<f4", true, new long[] {2, 2}, new byte[16]);
        Path big = NpyFiles.write(dir.resolve("big.npy"), 1, ">f4", false, new long[] {2, 2}, new byte[16]);
        Path object = NpyFiles.write(dir.resolve("object.npy"), 1, "|O", false, new long[] {2}, new byte[16]);
        Path structured = NpyFiles.writeHeader(dir.resolve("structured.npy"), 1,
                "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (2,), }", new byte[16]);

        assertThatThrownBy(() -> NpyIngest.open(fortran, null, null, null))
                .hasMessageContaining(fortran.toString()).hasMessageContaining("Fortran");
        assertThatThrownBy(() -> NpyIngest.open(big, null, null, null))
                .hasMessageContaining(big.toString()).hasMessageContaining("big-endian");
        assertThatThrownBy(() -> NpyIngest.open(object, null, null, null))
                .hasMessageContaining(object.toString()).hasMessageContaining("object arrays");
        assertThatThrownBy(() -> NpyIngest.open(structured, null, null, null))
                .hasMessageContaining(structured.toString()).hasMessageContaining("structured");
    }

    @Test
    void shouldRefuseATruncatedFileNamingTheFirstIncompleteExample() throws IOException {
        // 5 examples of 2x3 float32 promised, 2.5 examples present
        Path x = NpyFiles.write(dir.resolve("short.npy"), 1, "<f4", false, new long[] {5, 2, 3}, new byte[24 * 2 + 12]);
        Path padded = NpyFiles.write(dir.resolve("long.npy"), 1, "|u1", false, new long[] {2, 2}, new byte[5]);

        assertThatThrownBy(() -> NpyIngest.open(x, null, null, null)).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining(x.toString()).hasMessageContaining("example 2 ");
        assertThatThrownBy(() -> NpyIngest.open(padded, null, null, null))
                .hasMessageContaining(padded.toString()).hasMessageContaining("1 bytes follow the last example");
    }

    @Test
    void shouldRefuseALabelCountThatDiffersAndNegativeOrFloatLabelsNamingTheFileAndIndex() throws IOException {
        Path x = NpyFiles.write(dir.resolve("x.npy"), 1, "|u1", false, new long[] {4, 2}, new byte[8]);
        Path three = NpyFiles.write(dir.resolve("three.npy"), 1, "<i8", false, new long[] {3}, NpyFiles.longs(1, 2, 3));
        Path negative = NpyFiles.write(dir.resolve("neg.npy"), 1, "<i4", false, new long[] {4}, NpyFiles.ints(1, 2, 0, -1));
        Path floats = NpyFiles.write(dir.resolve("float.npy"), 1, "<f4", false, new long[] {4}, NpyFiles.floats(1, 2, 3, 4));

        assertThatThrownBy(() -> NpyIngest.open(x, three, null, null)).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining(three.toString()).hasMessageContaining("3 labels").hasMessageContaining("4 examples");
        assertThatThrownBy(() -> NpyIngest.open(x, negative, null, null))
                .hasMessageContaining(negative.toString()).hasMessageContaining("index 3").hasMessageContaining("negative");
        assertThatThrownBy(() -> NpyIngest.open(x, floats, null, null))
                .hasMessageContaining(floats.toString()).hasMessageContaining("integers");
    }

    @Test
    void shouldParseHeaderDictsAsNumpyWritesThem() {
        NpyHeader h = NpyHeader.fromDict(Path.of("a.npy"), 1, 0,
                "{'descr': '<f2', 'fortran_order': False, 'shape': (60000, 3, 32, 32), }", 128);
        assertThat(h.dtype()).isEqualTo(NpyDtype.FLOAT16);
        assertThat(h.shape()).containsExactly(60000, 3, 32, 32);
        assertThat(h.shapeString()).isEqualTo("(60000, 3, 32, 32)");
        NpyHeader scalarLike = NpyHeader.fromDict(Path.of("b.npy"), 1, 0,
                "{\"shape\": (7,), \"fortran_order\": False, \"descr\": \"|u1\"}", 128);
        assertThat(scalarLike.shape()).containsExactly(7);
        assertThat(scalarLike.shapeString()).isEqualTo("(7,)");
        assertThatThrownBy(() -> NpyHeader.fromDict(Path.of("c.npy"), 1, 0, "{'descr': '<f4', 'shape': (2,)}", 128))
                .hasMessageContaining("c.npy").hasMessageContaining("fortran_order");
    }

    private static List<InputRecord> readAll(Path x, Path y, LabelSelection selection) {
        List<InputRecord> out = new ArrayList<>();
        try (NpyIngest npy = NpyIngest.open(x, y, null, null)) {
            npy.records(Long.MAX_VALUE, selection, CLOCK).forEachRemaining(out::add);
        }
        return out;
    }
}
