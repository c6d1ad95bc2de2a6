package io.kdstream.schemas.serde;

import io.kdstream.avro.DType;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.InputRecord;
import io.kdstream.avro.Tensor;
import io.kdstream.schemas.registry.MockSchemaRegistry;
import io.kdstream.schemas.registry.RegisteredSchema;
import io.kdstream.schemas.registry.SchemaRegistryClient;
import io.kdstream.schemas.registry.SchemaRegistryException;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.schemas.testing.TestRecords;
import org.apache.avro.Schema;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class KdAvroSerdeTest {

    private static final String TOPIC = "kd.inputs";

    /** The Avro binary of {@link TestRecords#goldenInput()}, by hand from the spec (zig-zag varints). */
    private static final byte[] GOLDEN_AVRO = bytes(
            0x08, 'f', 'm', '-', '1',          // id: length 4 (zig-zag 8), "fm-1"
            0x0A, 't', 'r', 'a', 'i', 'n',     // source: length 5, "train"
            0x06,                              // input.dtype: enum index 3 (UINT8)
            0x02, 0x04, 0x00,                  // input.shape: block of 1 item, 2, end of array
            0x04, 0x07, 0xFF,                  // input.data: length 2, bytes 7 and 255
            0x02, 0x06,                        // label: union branch 1 (int), 3
            0x00,                              // labels: union branch 0 (null)
            0xD0, 0x0F,                        // timestampMs: 1000 (zig-zag 2000)
            0x02, 0x02, 'k', 0x02, 'v', 0x00); // attributes: block of 1 entry, "k" -> "v", end of map

    private final String scope = TestRecords.freshScope();

    @AfterEach
    void dropScope() {
        MockSchemaRegistry.dropScope(scope);
    }

    private Map<String, Object> config() {
        Map<String, Object> config = new HashMap<>();
        config.put(KdSerdeConfig.SCHEMA_REGISTRY_URL_CONFIG, "mock://" + scope);
        return config;
    }

    // ------------------------------------------------------------------ golden wire format

    @Test
    void shouldWriteConfluentWireFormatWithBigEndianSchemaId() {
        SchemaRegistryClient registry = new FixedIdRegistry(0x01020304, InputRecord.getClassSchema());
        KdAvroSerializer<InputRecord> serializer = new KdAvroSerializer<>(registry);
        serializer.configure(config(), false);

        byte[] wire = serializer.serialize(TOPIC, TestRecords.goldenInput());

        assertThat(wire).containsExactly(concat(bytes(0x00, 0x01, 0x02, 0x03, 0x04), GOLDEN_AVRO));
    }

    @Test
    void shouldRegisterUnderTopicValueSubjectAndReadGoldenBytesBack() {
        try (KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config())) {
            byte[] wire = serde.serializer().serialize(TOPIC, TestRecords.goldenInput());

            MockSchemaRegistry registry = MockSchemaRegistry.forScope(scope);
            assertThat(registry.subjects()).containsExactly(TOPIC + "-value");
            RegisteredSchema latest = registry.latest(TOPIC + "-value");
            assertThat(latest.id()).isEqualTo(1);
            assertThat(latest.schema()).isEqualTo(InputRecord.getClassSchema());
            assertThat(wire).containsExactly(concat(bytes(0, 0, 0, 0, 1), GOLDEN_AVRO));
            assertThat(serde.deserializer().deserialize(TOPIC, wire)).isEqualTo(TestRecords.goldenInput());
        }
    }

    @Test
    void shouldUseTopicKeySubjectForKeySerde() {
        try (KdAvroSerde<Tensor> serde = KdAvroSerdes.key(Tensor.class, config())) {
            Tensor key = TensorCodec.fromInts(new int[] {1, 2}, 2);

            byte[] wire = serde.serializer().serialize("t", key);

            assertThat(MockSchemaRegistry.forScope(scope).subjects()).containsExactly("t-key");
            assertThat(TensorCodec.toInts("k", serde.deserializer().deserialize("t", wire))).containsExactly(1, 2);
        }
    }

    @Test
    void shouldPassNullThroughBothWays() {
        try (KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config())) {
            assertThat(serde.serializer().serialize(TOPIC, null)).isNull();
            assertThat(serde.deserializer().deserialize(TOPIC, null)).isNull();
        }
    }

    @Test
    void shouldBeUsableByClassNameWithRecordClassConfig() {
        Map<String, Object> config = config();
        config.put(KdSerdeConfig.RECORD_CLASS_CONFIG, InputRecord.class.getName());
        try (KdAvroSerializer<InputRecord> serializer = new KdAvroSerializer<>();
             KdAvroDeserializer<InputRecord> deserializer = new KdAvroDeserializer<>()) {
            serializer.configure(config, false);
            deserializer.configure(config, false);

            InputRecord back = deserializer.deserialize(TOPIC, serializer.serialize(TOPIC, TestRecords.goldenInput()));

            assertThat(deserializer.type()).isEqualTo(InputRecord.class);
            assertThat(back).isEqualTo(TestRecords.goldenInput());
        }
    }

    @Test
    void shouldWorkAsSerdeCreatedByClassNameLikeKafkaStreamsDoes() throws Exception {
        Map<String, Object> config = config();
        config.put(KdSerdeConfig.RECORD_CLASS_CONFIG, InputRecord.class);
        @SuppressWarnings("unchecked")
        KdAvroSerde<InputRecord> serde = (KdAvroSerde<InputRecord>) Class.forName(KdAvroSerde.class.getName())
                .getDeclaredConstructor().newInstance();
        try (serde) {
            serde.configure(config, false);

            byte[] wire = serde.serializer().serialize(TOPIC, TestRecords.goldenInput());

            assertThat(serde.deserializer().deserialize(TOPIC, wire)).isEqualTo(TestRecords.goldenInput());
        }
        Map<String, Object> wrongClass = config();
        wrongClass.put(KdSerdeConfig.RECORD_CLASS_CONFIG, String.class);
        assertThatThrownBy(() -> new KdAvroSerde<InputRecord>().configure(wrongClass, false))
                .isInstanceOf(org.apache.kafka.common.config.ConfigException.class)
                .hasMessageContaining(KdSerdeConfig.RECORD_CLASS_CONFIG);
        assertThatThrownBy(() -> new KdAvroSerde<InputRecord>().configure(config(), false))
                .isInstanceOf(org.apache.kafka.common.config.ConfigException.class);
        assertThatThrownBy(() -> new KdAvroSerde<InputRecord>().configure(Map.of(), false))
                .isInstanceOf(org.apache.kafka.common.config.ConfigException.class)
                .hasMessageContaining(KdSerdeConfig.SCHEMA_REGISTRY_URL_CONFIG);
    }

    @Test
    void shouldRefuseUnregisteredSchemaWhenAutoRegisterIsOff() {
        Map<String, Object> config = config();
        config.put(KdSerdeConfig.AUTO_REGISTER_SCHEMAS_CONFIG, false);
        try (KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config)) {
            KdSerializationException e = catchThrowableOfType(KdSerializationException.class,
                    () -> serde.serializer().serialize(TOPIC, TestRecords.goldenInput()));

            assertThat(e.failureKind()).isEqualTo(FailureKind.SCHEMA);
            assertThat(e).hasMessageContaining(TOPIC + "-value");

            // once registered elsewhere, lookup finds it
            MockSchemaRegistry.forScope(scope).register(TOPIC + "-value", InputRecord.getClassSchema());
            assertThat(serde.serializer().serialize(TOPIC, TestRecords.goldenInput())).startsWith(0, 0, 0, 0, 1);
        }
    }

    // ------------------------------------------------------------------ bad records

    @Test
    void shouldRejectWrongMagicByte() {
        try (KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config())) {
            byte[] wire = serde.serializer().serialize(TOPIC, TestRecords.goldenInput());
            wire[0] = 1;

            UnknownMagicByteException e = catchThrowableOfType(UnknownMagicByteException.class,
                    () -> serde.deserializer().deserialize(TOPIC, wire));

            assertThat(e.failureKind()).isEqualTo(FailureKind.DESERIALIZATION);
            assertThat(e).isInstanceOf(SerializationException.class);
            // a plain-text or JSON value is caught the same way
            assertThatThrownBy(() -> serde.deserializer().deserialize(TOPIC, "{\"id\":1}".getBytes()))
                    .isInstanceOf(UnknownMagicByteException.class);
        }
    }

    @Test
    void shouldRejectUnknownSchemaId() {
        try (KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config())) {
            byte[] wire = concat(bytes(0, 0, 0, 0x30, 0x39), GOLDEN_AVRO); // id 12345, never registered

            UnknownSchemaIdException e = catchThrowableOfType(UnknownSchemaIdException.class,
                    () -> serde.deserializer().deserialize(TOPIC, wire));

            assertThat(e.schemaId()).isEqualTo(12345);
            assertThat(e.failureKind()).isEqualTo(FailureKind.SCHEMA);
        }
    }

    @Test
    void shouldRejectTruncatedGarbageAndTrailingBytes() {
        try (KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config())) {
            byte[] wire = serde.serializer().serialize(TOPIC, TestRecords.goldenInput());
            List<byte[]> bad = List.of(
                    Arrays.copyOf(wire, wire.length - 1),                         // last byte missing
                    Arrays.copyOf(wire, 12),                                      // cut in the middle
                    Arrays.copyOf(wire, 5),                                       // header only
                    Arrays.copyOf(wire, 3),                                       // header cut
                    new byte[0],                                                  // nothing
                    concat(wire, bytes(0x00)),                                    // trailing byte
                    concat(Arrays.copyOf(wire, 5), bytes(0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                            0xFF, 0xFF)),                                         // endless varint
                    withByte(wire, 16, 0x7E));                                    // enum index 63 for dtype

            for (byte[] bytes : bad) {
                MalformedAvroException e = catchThrowableOfType(MalformedAvroException.class,
                        () -> serde.deserializer().deserialize(TOPIC, bytes));
                assertThat(e).as("bytes %s", Arrays.toString(bytes)).isNotNull();
                assertThat(e.failureKind()).isEqualTo(FailureKind.DESERIALIZATION);
            }
        }
    }

    @Test
    void shouldFailFastWithoutAllocatingOnHostileLengthPrefixes() {
        try (KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config())) {
            byte[] header = Arrays.copyOf(serde.serializer().serialize(TOPIC, TestRecords.goldenInput()), 5);
            // 10 bytes in all: the id string claims 2^31 - 1 bytes (zig-zag 0xFFFFFFFE)
            byte[] hugeString = concat(header, bytes(0xFE, 0xFF, 0xFF, 0xFF, 0x0F));
            byte[] prefix = bytes(0x08, 'f', 'm', '-', '1', 0x0A, 't', 'r', 'a', 'i', 'n', 0x06);
            // the tensor's shape array claims 2^30 ints
            byte[] hugeArray = concat(header, prefix, bytes(0x80, 0x80, 0x80, 0x80, 0x08));
            // the tensor's data claims 2 GB
            byte[] hugeBytes = concat(header, prefix, bytes(0x02, 0x04, 0x00, 0xFE, 0xFF, 0xFF, 0xFF, 0x0F));
            // the tensor's shape array claims 2^30 ints in a sized block (negative count) of 2 GB
            byte[] hugeBlock = concat(header, prefix, bytes(0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0xFE, 0xFF, 0xFF, 0xFF,
                    0x0F));
            assertThat(hugeString).hasSize(10);
            serde.deserializer().deserialize(TOPIC, concat(header, GOLDEN_AVRO)); // warm up the plan and caches

            for (byte[] hostile : List.of(hugeString, hugeArray, hugeBytes, hugeBlock)) {
                long before = allocatedBytes();
                long start = System.nanoTime();
                MalformedAvroException e = catchThrowableOfType(MalformedAvroException.class,
                        () -> serde.deserializer().deserialize(TOPIC, hostile));
                long allocated = allocatedBytes() - before;

                assertThat(e).as(Arrays.toString(hostile)).isNotNull();
                assertThat(e.getMessage()).containsAnyOf("remain", "claims");
                assertThat(allocated).as("bytes allocated rejecting %s", Arrays.toString(hostile))
                        .isLessThan(1 << 20);
                assertThat(System.nanoTime() - start).isLessThan(1_000_000_000L);
            }
        }
    }

    @Test
    void shouldRejectRecordWhoseTensorShapeClaimsMoreThanItsData() {
        Map<String, Object> lenient = config();
        lenient.put(KdSerdeConfig.VALIDATE_TENSORS_CONFIG, false);
        InputRecord record = TestRecords.goldenInput();
        record.setInput(new Tensor(DType.FLOAT32, List.of(1000, 1000), ByteBuffer.wrap(new byte[8])));
        try (KdAvroSerde<InputRecord> writer = KdAvroSerdes.value(InputRecord.class, lenient);
             KdAvroSerde<InputRecord> strict = KdAvroSerdes.value(InputRecord.class, config())) {
            byte[] wire = writer.serializer().serialize(TOPIC, record);

            InvalidRecordTensorException e = catchThrowableOfType(InvalidRecordTensorException.class,
                    () -> strict.deserializer().deserialize(TOPIC, wire));

            assertThat(e.failureKind()).isEqualTo(FailureKind.SHAPE);
            assertThat(e).hasMessageContaining("input");
            assertThatThrownBy(() -> strict.serializer().serialize(TOPIC, record))
                    .isInstanceOf(InvalidRecordTensorException.class);
        }
    }

    @Test
    void shouldRejectRecordsAboveTheSizeLimitBeforeDecoding() {
        Map<String, Object> small = config();
        small.put(KdSerdeConfig.MAX_RECORD_BYTES_CONFIG, 16);
        try (KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config());
             KdAvroSerde<InputRecord> limited = KdAvroSerdes.value(InputRecord.class, small)) {
            byte[] wire = serde.serializer().serialize(TOPIC, TestRecords.goldenInput());

            OversizedRecordException e = catchThrowableOfType(OversizedRecordException.class,
                    () -> limited.deserializer().deserialize(TOPIC, wire));

            assertThat(e.failureKind()).isEqualTo(FailureKind.OVERSIZED);
            assertThat(e).hasMessageContaining(String.valueOf(GOLDEN_AVRO.length));
            assertThatThrownBy(() -> limited.serializer().serialize(TOPIC, TestRecords.goldenInput()))
                    .isInstanceOf(OversizedRecordException.class);
        }
    }

    @Test
    void shouldRaiseRetriableErrorWhenRegistryIsUnreachable() throws Exception {
        int deadPort;
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            deadPort = socket.getLocalPort();
        }
        Map<String, Object> config = new HashMap<>();
        config.put(KdSerdeConfig.SCHEMA_REGISTRY_URL_CONFIG, "http://127.0.0.1:" + deadPort);
        config.put("schema.registry.connect.timeout.ms", 2000);
        try (KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config)) {
            byte[] wire = concat(bytes(0, 0, 0, 0, 1), GOLDEN_AVRO);

            Throwable read = catchThrowableOfType(SchemaRegistryUnavailableException.class,
                    () -> serde.deserializer().deserialize(TOPIC, wire));
            Throwable write = catchThrowableOfType(SchemaRegistryUnavailableException.class,
                    () -> serde.serializer().serialize(TOPIC, TestRecords.goldenInput()));

            assertThat(read).isInstanceOf(RetriableException.class).isNotInstanceOf(SerializationException.class);
            assertThat(write).isInstanceOf(RetriableException.class).hasMessageContaining("127.0.0.1:" + deadPort);
        }
    }

    @Test
    void shouldLetAuthorizationFailuresThroughAsRegistryErrorsNotBadRecords() {
        SchemaRegistryClient refusing = new FixedIdRegistry(1, InputRecord.getClassSchema()) {
            @Override
            public Schema getById(int id) {
                throw new SchemaRegistryException(SchemaRegistryException.UNAUTHORIZED, 401, "Unauthorized");
            }
        };
        try (KdAvroDeserializer<InputRecord> deserializer = new KdAvroDeserializer<>(InputRecord.class, refusing)) {
            deserializer.configure(config(), false);

            assertThatThrownBy(() -> deserializer.deserialize(TOPIC, concat(bytes(0, 0, 0, 0, 1), GOLDEN_AVRO)))
                    .isInstanceOf(SchemaRegistryException.class)
                    .isNotInstanceOf(SerializationException.class);
        }
    }

    // ------------------------------------------------------------------ helpers

    /** A registry that knows one schema under one id. */
    static class FixedIdRegistry implements SchemaRegistryClient {
        private final int id;
        private final Schema schema;

        FixedIdRegistry(int id, Schema schema) {
            this.id = id;
            this.schema = schema;
        }

        @Override
        public int register(String subject, Schema s) {
            return id;
        }

        @Override
        public Schema getById(int wanted) {
            if (wanted != id) {
                throw new SchemaRegistryException(SchemaRegistryException.SCHEMA_NOT_FOUND, 404, "no " + wanted);
            }
            return schema;
        }

        @Override
        public RegisteredSchema latest(String subject) {
            return new RegisteredSchema(subject, 1, id, schema);
        }

        @Override
        public RegisteredSchema version(String subject, int version) {
            return new RegisteredSchema(subject, 1, id, schema);
        }

        @Override
        public int idOf(String subject, Schema s) {
            return id;
        }

        @Override
        public boolean isCompatible(String subject, Schema s) {
            return true;
        }

        @Override
        public List<String> subjects() {
            return List.of();
        }

        @Override
        public void close() {
        }
    }

    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (byte) values[i];
        }
        return out;
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    private static byte[] withByte(byte[] wire, int index, int value) {
        byte[] copy = wire.clone();
        copy[index] = (byte) value;
        return copy;
    }
}
