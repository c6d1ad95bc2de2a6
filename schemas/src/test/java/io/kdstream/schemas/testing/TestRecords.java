package io.kdstream.schemas.testing;

import io.kdstream.avro.InputRecord;
import io.kdstream.schemas.tensor.TensorCodec;
import org.apache.avro.Schema;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

/** Records and schemas shared by the serde tests. */
public final class TestRecords {

    private TestRecords() {
    }

    /** A small, fully specified InputRecord whose Avro bytes the golden test spells out by hand. */
    public static InputRecord goldenInput() {
        return InputRecord.newBuilder()
                .setId("fm-1")
                .setSource("train")
                .setInput(TensorCodec.fromUint8(new byte[] {7, (byte) 255}, 2))
                .setLabel(3)
                .setLabels(null)
                .setTimestampMs(Instant.ofEpochMilli(1000))
                .setAttributes(Map.of("k", "v"))
                .build();
    }

    /** A test-only schema from src/test/resources/evolution. */
    public static Schema evolutionSchema(String file) {
        try (InputStream in = TestRecords.class.getResourceAsStream("/evolution/" + file)) {
            if (in == null) {
                throw new IllegalArgumentException("no test schema " + file);
            }
            return new Schema.Parser().parse(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A registry scope no other test uses. */
    public static String freshScope() {
        return "test-" + UUID.randomUUID();
    }
}
