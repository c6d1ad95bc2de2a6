package io.kdstream.schemas.serde;

import io.kdstream.schemas.registry.CompatibilityLevel;
import io.kdstream.schemas.registry.SchemaRegistryClient;
import io.kdstream.schemas.registry.SchemaRegistryClients;
import io.kdstream.schemas.registry.SchemaRegistryException;
import io.kdstream.schemas.serde.internals.AvroBinaryChecker;
import io.kdstream.schemas.serde.internals.TensorGuard;
import io.kdstream.schemas.tensor.InvalidTensorException;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.serialization.Deserializer;

import java.io.IOException;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads Avro records in Confluent's wire format into the generated class {@code T}, resolving the writer's schema
 * (fetched by the id in the header) to {@code T}'s schema.
 *
 * <p>Before decoding, the payload is checked against the writer schema: every length and count must fit in the
 * bytes that remain and no bytes may trail, so hostile input fails fast with {@link MalformedAvroException} and
 * never makes the decoder allocate what it claims. Tensors in the decoded record are validated
 * ({@code kdstream.avro.validate.tensors}). Every failure about the record is a {@link KdSerializationException}
 * with its {@link io.kdstream.avro.FailureKind}; an unreachable registry is the retriable
 * {@link SchemaRegistryUnavailableException}. Thread-safe once configured.
 */
public class KdAvroDeserializer<T extends SpecificRecord> implements Deserializer<T> {

    /** How records written with one schema id are read. */
    private record ReadPlan<R>(Schema writerSchema, AvroBinaryChecker checker, SpecificDatumReader<R> reader) {
    }

    private final Map<Integer, ReadPlan<T>> plans = new ConcurrentHashMap<>();
    private Class<T> type;
    private Schema readerSchema;
    private TensorGuard tensorGuard;
    private SchemaRegistryClient client;
    private boolean ownsClient;
    private KdSerdeConfig config;

    /** A deserializer whose record class comes from {@code kdstream.avro.record.class}. */
    public KdAvroDeserializer() {
    }

    /** A deserializer of {@code type}. */
    public KdAvroDeserializer(Class<T> type) {
        this.type = Objects.requireNonNull(type, "type");
    }

    /** A deserializer of {@code type} that uses {@code client} (not closed by {@link #close()}). */
    public KdAvroDeserializer(Class<T> type, SchemaRegistryClient client) {
        this.type = Objects.requireNonNull(type, "type");
        this.client = Objects.requireNonNull(client, "client");
    }

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        KdSerdeConfig parsed = new KdSerdeConfig(configs);
        if (client == null) {
            configure(parsed, isKey, SchemaRegistryClients.create(parsed.schemaRegistryUrl(), configs), true);
        } else {
            configure(parsed, isKey, client, false);
        }
    }

    void configure(KdSerdeConfig parsed, boolean isKey, SchemaRegistryClient registry, boolean owns) {
        if (type == null) {
            type = recordClass(parsed.recordClass());
        }
        this.readerSchema = SpecificData.get().getSchema(type);
        this.tensorGuard = new TensorGuard(readerSchema);
        this.config = parsed;
        this.client = registry;
        this.ownsClient = owns;
        plans.clear();
    }

    /** The class records are read into. */
    public Class<T> type() {
        return type;
    }

    @Override
    public T deserialize(String topic, byte[] data) {
        if (data == null) {
            return null;
        }
        if (config == null) {
            throw new IllegalStateException("deserializer is not configured");
        }
        if (data.length == 0) {
            throw new MalformedAvroException("empty record on topic '" + topic + "'");
        }
        if (data[0] != WireFormat.MAGIC_BYTE) {
            throw new UnknownMagicByteException("unknown magic byte " + (data[0] & 0xff) + " on topic '" + topic
                    + "' (expected 0: Confluent wire format)");
        }
        if (data.length < WireFormat.HEADER_SIZE) {
            throw new MalformedAvroException("record of " + data.length + " bytes on topic '" + topic
                    + "' is shorter than the 5-byte wire-format header");
        }
        int payload = data.length - WireFormat.HEADER_SIZE;
        if (payload > config.maxRecordBytes()) {
            throw new OversizedRecordException("record of " + payload + " bytes on topic '" + topic + "' exceeds "
                    + KdSerdeConfig.MAX_RECORD_BYTES_CONFIG + "=" + config.maxRecordBytes());
        }
        int id = WireFormat.schemaIdOf(data);
        ReadPlan<T> plan = plan(topic, id);
        try {
            plan.checker().check(data, WireFormat.HEADER_SIZE, payload);
        } catch (AvroBinaryChecker.MalformedDataException e) {
            throw new MalformedAvroException("malformed Avro record (schema id " + id + ") on topic '" + topic + "': "
                    + e.getMessage(), e);
        }
        T record;
        try {
            BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(data, WireFormat.HEADER_SIZE, payload, null);
            record = plan.reader().read(null, decoder);
        } catch (IOException | RuntimeException e) {
            throw new MalformedAvroException("cannot decode Avro record (schema id " + id + ") on topic '" + topic
                    + "': " + e, e);
        }
        if (config.validateTensors()) {
            try {
                tensorGuard.check(record);
            } catch (InvalidTensorException e) {
                throw new InvalidRecordTensorException("record (schema id " + id + ") on topic '" + topic
                        + "' holds an invalid tensor: " + e.getMessage(), e);
            }
        }
        return record;
    }

    @Override
    public void close() {
        if (ownsClient && client != null) {
            client.close();
        }
    }

    private ReadPlan<T> plan(String topic, int id) {
        ReadPlan<T> plan = plans.get(id);
        if (plan != null) {
            return plan;
        }
        Schema writer;
        try {
            writer = client.getById(id);
        } catch (SchemaRegistryException e) {
            if (e.isNotFound()) {
                throw new UnknownSchemaIdException(id, "schema id " + id + " of a record on topic '" + topic
                        + "' is unknown to the schema registry", e);
            }
            throw e;
        }
        if (!CompatibilityLevel.canRead(readerSchema, writer)) {
            throw new IncompatibleSchemaException("records written with schema id " + id + " (" + writer.getFullName()
                    + ") cannot be read as " + readerSchema.getFullName() + " on topic '" + topic + "'");
        }
        SpecificDatumReader<T> reader = new SpecificDatumReader<>(writer, readerSchema, SpecificData.getForClass(type));
        plan = new ReadPlan<>(writer, new AvroBinaryChecker(writer), reader);
        plans.put(id, plan);
        return plan;
    }

    @SuppressWarnings("unchecked")
    private static <R extends SpecificRecord> Class<R> recordClass(Class<?> configured) {
        if (configured == null) {
            throw new ConfigException(KdSerdeConfig.RECORD_CLASS_CONFIG, null,
                    "must name the Avro record class when the deserializer is created by class name");
        }
        if (!SpecificRecord.class.isAssignableFrom(configured)) {
            throw new ConfigException(KdSerdeConfig.RECORD_CLASS_CONFIG, configured.getName(),
                    "is not a generated Avro SpecificRecord class");
        }
        return (Class<R>) configured;
    }
}
