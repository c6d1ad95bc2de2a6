package io.kdstream.ops.consume;

import io.kdstream.avro.DType;
import io.kdstream.avro.InputRecord;
import io.kdstream.avro.Tensor;
import io.kdstream.schemas.registry.MockSchemaRegistry;
import io.kdstream.schemas.serde.KdAvroSerializer;
import io.kdstream.schemas.tensor.TensorCodec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class RecordJsonFormatterTest {

    private static final String SCOPE = "record-json-formatter-test";
    private static final ObjectMapper JSON = new ObjectMapper();

    @AfterEach
    void dropRegistry() {
        MockSchemaRegistry.dropScope(SCOPE);
    }

    private static byte[] image() {
        byte[] pixels = new byte[28 * 28];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) (i % 256);
        }
        return pixels;
    }

    private static InputRecord input(Tensor tensor) {
        return InputRecord.newBuilder()
                .setId("fmnist-train-00042")
                .setSource("fashion-mnist/train")
                .setInput(tensor)
                .setLabel(7)
                .setTimestampMs(Instant.parse("2024-05-01T10:00:00Z"))
                .setAttributes(Map.of("split", "train"))
                .build();
    }

    private static byte[] serialize(InputRecord record) {
        try (KdAvroSerializer<InputRecord> serializer = new KdAvroSerializer<>()) {
            serializer.configure(Map.of("schema.registry.url", "mock://" + SCOPE), false);
            return serializer.serialize("kd.inputs", record);
        }
    }

    private static ConsumerRecord<byte[], byte[]> record(byte[] key, byte[] value) {
        return new ConsumerRecord<>("kd.inputs", 2, 17L, key, value);
    }

    private static JsonNode render(byte[] value, boolean full) throws Exception {
        WireFormatDecoder decoder = new WireFormatDecoder(MockSchemaRegistry.forScope(SCOPE));
        WireFormatDecoder.Decoded decoded = decoder.decode(value);
        String line = new RecordJsonFormatter(full).format(
                record("fmnist-train-00042".getBytes(StandardCharsets.UTF_8), value), decoded.schemaId(), decoded.value());
        assertThat(line).doesNotContain("\n");
        return JSON.readTree(line);
    }

    @Test
    void shouldPrintCoordinatesKeyAndAvroFieldsInPlainJson() throws Exception {
        JsonNode json = render(serialize(input(TensorCodec.fromUint8(image(), 28, 28))), false);

        assertThat(json.get("topic").asText()).isEqualTo("kd.inputs");
        assertThat(json.get("partition").asInt()).isEqualTo(2);
        assertThat(json.get("offset").asLong()).isEqualTo(17L);
        assertThat(json.get("key").asText()).isEqualTo("fmnist-train-00042");
        assertThat(json.get("schemaId").isInt()).isTrue();
        JsonNode value = json.get("value");
        assertThat(value.get("id").asText()).isEqualTo("fmnist-train-00042");
        assertThat(value.get("label").asInt()).isEqualTo(7);
        assertThat(value.get("labels").isNull()).isTrue();
        assertThat(value.get("timestampMs").asText()).isEqualTo("2024-05-01T10:00:00Z");
        assertThat(value.get("attributes").get("split").asText()).isEqualTo("train");
    }

    @Test
    void shouldSummariseATensorWithDtypeShapeStatisticsAndFirstValues() throws Exception {
        JsonNode tensor = render(serialize(input(TensorCodec.fromUint8(image(), 28, 28))), false).get("value").get("input");

        assertThat(tensor.get("dtype").asText()).isEqualTo("UINT8");
        assertThat(tensor.get("shape").toString()).isEqualTo("[28,28]");
        assertThat(tensor.get("elements").asInt()).isEqualTo(784);
        assertThat(tensor.get("min").asInt()).isZero();
        assertThat(tensor.get("max").asInt()).isEqualTo(255);
        assertThat(tensor.get("first").toString()).isEqualTo("[0,1,2,3,4,5,6,7]");
        assertThat(tensor.has("values")).isFalse();
    }

    @Test
    void shouldPrintEveryElementWithFull() throws Exception {
        JsonNode tensor = render(serialize(input(TensorCodec.fromUint8(image(), 28, 28))), true).get("value").get("input");

        assertThat(tensor.get("values")).hasSize(784);
        assertThat(tensor.get("values").get(300).asInt()).isEqualTo(300 % 256);
    }

    @Test
    void shouldCountNonFiniteFloatsAndWriteThemAsText() throws Exception {
        Tensor logits = TensorCodec.fromFloats(new float[] {1.5f, Float.NaN, -2f, Float.POSITIVE_INFINITY}, DType.FLOAT32, 4);
        // a ConsumerRecord carrying a generic Tensor as its value, as the decoder would return it
        org.apache.avro.generic.GenericData.Record generic = new org.apache.avro.generic.GenericData.Record(Tensor.getClassSchema());
        generic.put("dtype", new org.apache.avro.generic.GenericData.EnumSymbol(DType.getClassSchema(), "FLOAT32"));
        generic.put("shape", List.of(4));
        generic.put("data", logits.getData());

        JsonNode json = JSON.readTree(new RecordJsonFormatter(false).format(record(null, new byte[0]), 1, generic));

        JsonNode value = json.get("value");
        assertThat(json.get("key").isNull()).isTrue();
        assertThat(value.get("nonFinite").asInt()).isEqualTo(2);
        assertThat(value.get("min").asDouble()).isEqualTo(-2.0);
        assertThat(value.get("max").asDouble()).isEqualTo(1.5);
        assertThat(value.get("first").get(1).asText()).isEqualTo("NaN");
    }

    @Test
    void shouldReportAnInconsistentTensorInsteadOfFailing() throws Exception {
        org.apache.avro.generic.GenericData.Record generic = new org.apache.avro.generic.GenericData.Record(Tensor.getClassSchema());
        generic.put("dtype", new org.apache.avro.generic.GenericData.EnumSymbol(DType.getClassSchema(), "FLOAT32"));
        generic.put("shape", List.of(3));
        generic.put("data", ByteBuffer.wrap(new byte[5]));

        JsonNode value = JSON.readTree(new RecordJsonFormatter(false).format(record(null, new byte[0]), 1, generic)).get("value");

        assertThat(value.get("error").asText()).isNotBlank();
        assertThat(value.get("data").get("bytes").asInt()).isEqualTo(5);
    }

    @Test
    void shouldPrintAnErrorLineForAValueThatIsNotInTheWireFormat() throws Exception {
        WireFormatDecoder decoder = new WireFormatDecoder(MockSchemaRegistry.forScope(SCOPE));
        byte[] garbage = "{\"not\":\"avro\"}".getBytes(StandardCharsets.UTF_8);

        String line = io.kdstream.ops.cli.ConsumeCommandAccess.render(record("k".getBytes(StandardCharsets.UTF_8), garbage), decoder);
        JsonNode json = JSON.readTree(line);

        assertThat(json.get("error").asText()).contains("magic byte");
        assertThat(json.get("valueBytes").asInt()).isEqualTo(garbage.length);
        assertThat(json.get("offset").asLong()).isEqualTo(17L);
    }

    @Test
    void shouldPrintAnErrorLineForAnUnknownSchemaId() throws Exception {
        WireFormatDecoder decoder = new WireFormatDecoder(MockSchemaRegistry.forScope(SCOPE));
        byte[] value = {0, 0, 0, 0x7f, 0x11, 2, 4};

        JsonNode json = JSON.readTree(io.kdstream.ops.cli.ConsumeCommandAccess.render(record(null, value), decoder));

        assertThat(json.get("error").asText()).contains("schema id " + 0x7f11);
    }

    @Test
    void shouldPrintAnErrorLineForATruncatedAvroBody() throws Exception {
        byte[] good = serialize(input(TensorCodec.fromUint8(image(), 28, 28)));
        byte[] truncated = java.util.Arrays.copyOf(good, good.length / 2);
        WireFormatDecoder decoder = new WireFormatDecoder(MockSchemaRegistry.forScope(SCOPE));

        JsonNode json = JSON.readTree(io.kdstream.ops.cli.ConsumeCommandAccess.render(record(null, truncated), decoder));

        assertThat(json.get("error").asText()).contains("does not match schema id");
    }

    @Test
    void shouldShowNonTextKeysAsBase64() {
        assertThat(RecordJsonFormatter.utf8OrNull(new byte[] {(byte) 0xff, 0x00})).isNull();
        assertThat(RecordJsonFormatter.utf8OrNull("id-1".getBytes(StandardCharsets.UTF_8))).isEqualTo("id-1");
    }
}
