package io.kdstream.schemas.serde;

import io.kdstream.avro.FailureKind;
import io.kdstream.avro.InputRecord;
import io.kdstream.schemas.registry.MockSchemaRegistry;
import io.kdstream.schemas.testing.TestRecords;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** InputRecord v1 (the generated class) against a test-only v2 that adds {@code weight} with a default. */
class SchemaEvolutionTest {

    private static final String TOPIC = "kd.inputs";
    private static final String SUBJECT = TOPIC + "-value";
    private static final Schema V2 = TestRecords.evolutionSchema("InputRecord-v2.avsc");

    private final String scope = TestRecords.freshScope();
    private final MockSchemaRegistry registry = MockSchemaRegistry.forScope(scope);

    @AfterEach
    void dropScope() {
        MockSchemaRegistry.dropScope(scope);
    }

    private Map<String, Object> config() {
        Map<String, Object> config = new HashMap<>();
        config.put(KdSerdeConfig.SCHEMA_REGISTRY_URL_CONFIG, "mock://" + scope);
        return config;
    }

    @Test
    void shouldReadRecordWrittenWithNewerSchemaUsingOlderReader() throws IOException {
        // Given v1 and then v2 registered (v2 is BACKWARD compatible: its new field has a default)
        registry.register(SUBJECT, InputRecord.getClassSchema());
        int v2Id = registry.register(SUBJECT, V2);
        GenericRecord written = v2Record(0.25);

        // When a v1 consumer reads the v2 bytes
        try (KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config())) {
            InputRecord read = serde.deserializer().deserialize(TOPIC, wire(v2Id, V2, written));

            // Then the known fields come through and the new one is ignored
            InputRecord expected = TestRecords.goldenInput();
            assertThat(read).isEqualTo(expected);
            assertThat(registry.version(SUBJECT, 2).id()).isEqualTo(v2Id);
        }
    }

    @Test
    void shouldReadRecordWrittenWithOlderSchemaUsingNewerReaderFillingDefault() throws IOException {
        try (KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config())) {
            byte[] wire = serde.serializer().serialize(TOPIC, TestRecords.goldenInput());
            Schema writer = registry.getById(ByteBuffer.wrap(wire, 1, 4).getInt());

            GenericRecord read = new GenericDatumReader<GenericRecord>(writer, V2)
                    .read(null, DecoderFactory.get().binaryDecoder(Arrays.copyOfRange(wire, 5, wire.length), null));

            assertThat(read.get("weight")).isEqualTo(1.0);
            assertThat(read.get("id").toString()).isEqualTo("fm-1");
            assertThat(read.get("timestampMs")).isEqualTo(1000L);
        }
    }

    @Test
    void shouldWriteWithLatestSchemaWhenConfiguredSoNewReadersSeeDefaults() throws IOException {
        registry.register(SUBJECT, InputRecord.getClassSchema());
        int v2Id = registry.register(SUBJECT, V2);
        Map<String, Object> config = config();
        config.put(KdSerdeConfig.USE_LATEST_VERSION_CONFIG, true);
        try (KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config)) {
            byte[] wire = serde.serializer().serialize(TOPIC, TestRecords.goldenInput());

            assertThat(ByteBuffer.wrap(wire, 1, 4).getInt()).isEqualTo(v2Id);
            GenericRecord asV2 = new GenericDatumReader<GenericRecord>(V2)
                    .read(null, DecoderFactory.get().binaryDecoder(Arrays.copyOfRange(wire, 5, wire.length), null));
            assertThat(asV2.get("weight")).isEqualTo(1.0);
            assertThat(serde.deserializer().deserialize(TOPIC, wire)).isEqualTo(TestRecords.goldenInput());
        }
    }

    @Test
    void shouldRejectWriterSchemaThatCannotBeResolvedToReader() throws IOException {
        Schema incompatible = TestRecords.evolutionSchema("InputRecord-incompatible.avsc");
        int id = registry.register("other-value", incompatible);
        GenericRecord written = new GenericData.Record(incompatible);
        GenericRecord source = v2Record(1.0);
        for (Schema.Field field : incompatible.getFields()) {
            written.put(field.name(), field.name().equals("id") ? 7 : source.get(field.name()));
        }
        try (KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config())) {
            IncompatibleSchemaException e = catchThrowableOfType(IncompatibleSchemaException.class,
                    () -> serde.deserializer().deserialize(TOPIC, wire(id, incompatible, written)));

            assertThat(e.failureKind()).isEqualTo(FailureKind.SCHEMA);
            assertThat(e).hasMessageContaining("schema id " + id);
        }
    }

    @Test
    void shouldRefuseToRegisterFieldWithoutDefaultUnderBackwardCompatibility() {
        Schema noDefault = TestRecords.evolutionSchema("InputRecord-v2-nodefault.avsc");
        registry.register(SUBJECT, InputRecord.getClassSchema());

        assertThat(registry.isCompatible(SUBJECT, V2)).isTrue();
        assertThat(registry.isCompatible(SUBJECT, noDefault)).isFalse();
    }

    private static GenericRecord v2Record(double weight) {
        InputRecord v1 = TestRecords.goldenInput();
        Schema tensorSchema = V2.getField("input").schema();
        GenericRecord tensor = new GenericData.Record(tensorSchema);
        tensor.put("dtype", new GenericData.EnumSymbol(tensorSchema.getField("dtype").schema(), "UINT8"));
        tensor.put("shape", List.of(2));
        tensor.put("data", v1.getInput().getData().duplicate());
        GenericRecord record = new GenericData.Record(V2);
        record.put("id", v1.getId());
        record.put("source", v1.getSource());
        record.put("input", tensor);
        record.put("label", v1.getLabel());
        record.put("labels", null);
        record.put("timestampMs", v1.getTimestampMs().toEpochMilli());
        record.put("attributes", v1.getAttributes());
        record.put("weight", weight);
        return record;
    }

    private static byte[] wire(int id, Schema schema, GenericRecord record) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0);
        out.write(ByteBuffer.allocate(4).putInt(id).array());
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(schema).write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }
}
