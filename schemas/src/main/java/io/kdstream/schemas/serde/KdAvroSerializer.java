package io.kdstream.schemas.serde;

import io.kdstream.avro.FailureKind;
import io.kdstream.schemas.registry.CompatibilityLevel;
import io.kdstream.schemas.registry.RegisteredSchema;
import io.kdstream.schemas.registry.SchemaRegistryClient;
import io.kdstream.schemas.registry.SchemaRegistryClients;
import io.kdstream.schemas.registry.SchemaRegistryException;
import io.kdstream.schemas.serde.internals.TensorGuard;
import io.kdstream.schemas.tensor.InvalidTensorException;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serializer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Writes Avro records in Confluent's wire format: magic byte 0, the schema id as a big-endian int, then the Avro
 * binary encoding. The subject is {@code <topic>-value} or {@code <topic>-key} (TopicNameStrategy).
 *
 * <p>By default the record's schema is registered under the subject ({@code auto.register.schemas}); otherwise it
 * is looked up, or with {@code use.latest.version} the subject's latest schema is used and the record resolved onto
 * it. Tensors in the record are validated first ({@code kdstream.avro.validate.tensors}), so an inconsistent
 * tensor is never published. Thread-safe once configured.
 */
public class KdAvroSerializer<T extends SpecificRecord> implements Serializer<T> {

    /** How a record of one schema is written to one subject. */
    private record WritePlan(int id, Schema recordSchema, DatumWriter<Object> writer,
                             GenericDatumReader<Object> projector, long expiresAtMs) {
    }

    private record PlanKey(String subject, Schema schema) {
    }

    private final Map<PlanKey, WritePlan> plans = new ConcurrentHashMap<>();
    private final Map<Schema, TensorGuard> guards = new ConcurrentHashMap<>();
    private SchemaRegistryClient client;
    private boolean ownsClient;
    private KdSerdeConfig config;
    private String subjectSuffix = "-value";

    /** A serializer that creates its registry client from its configuration. */
    public KdAvroSerializer() {
    }

    /** A serializer that uses {@code client} (not closed by {@link #close()}). */
    public KdAvroSerializer(SchemaRegistryClient client) {
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
        this.config = parsed;
        this.client = registry;
        this.ownsClient = owns;
        this.subjectSuffix = isKey ? "-key" : "-value";
        plans.clear();
    }

    /** The registry subject of {@code topic}: {@code <topic>-value} or {@code <topic>-key}. */
    public String subjectOf(String topic) {
        return topic + subjectSuffix;
    }

    @Override
    public byte[] serialize(String topic, T data) {
        if (data == null) {
            return null;
        }
        if (config == null) {
            throw new IllegalStateException("serializer is not configured");
        }
        String subject = subjectOf(topic);
        Schema schema = data.getSchema();
        if (config.validateTensors()) {
            try {
                guards.computeIfAbsent(schema, TensorGuard::new).check(data);
            } catch (InvalidTensorException e) {
                throw new InvalidRecordTensorException("refusing to serialise a " + schema.getFullName()
                        + " for subject '" + subject + "' holding an invalid tensor: " + e.getMessage(), e);
            }
        }
        WritePlan plan = plan(subject, schema);
        Scratch scratch = SCRATCH.get();
        scratch.reset();
        scratch.write(WireFormat.MAGIC_BYTE);
        scratch.write(plan.id() >>> 24);
        scratch.write(plan.id() >>> 16);
        scratch.write(plan.id() >>> 8);
        scratch.write(plan.id());
        try {
            BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(scratch, scratch.encoder);
            scratch.encoder = encoder;
            Object datum = plan.projector() == null ? data : project(data, plan);
            plan.writer().write(datum, encoder);
            encoder.flush();
        } catch (IOException | RuntimeException e) {
            throw new KdSerializationException(FailureKind.UNKNOWN, "cannot serialise a " + schema.getFullName()
                    + " for subject '" + subject + "': " + e, e);
        }
        int payload = scratch.size() - WireFormat.HEADER_SIZE;
        if (payload > config.maxRecordBytes()) {
            scratch.release();
            throw new OversizedRecordException("record of " + payload + " bytes for subject '" + subject
                    + "' exceeds " + KdSerdeConfig.MAX_RECORD_BYTES_CONFIG + "=" + config.maxRecordBytes());
        }
        byte[] result = scratch.toByteArray();
        scratch.release();
        return result;
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * A per-thread, unsynchronised growable buffer the encoder writes into, so that a record costs one exact-size
     * copy; buffers grown past {@link #KEEP_BYTES} are dropped after use rather than kept per thread.
     */
    private static final class Scratch extends OutputStream {
        private static final int KEEP_BYTES = 1 << 20;
        private byte[] buffer = new byte[4096];
        private int size;
        private BinaryEncoder encoder;

        void reset() {
            size = 0;
        }

        int size() {
            return size;
        }

        byte[] toByteArray() {
            return Arrays.copyOf(buffer, size);
        }

        void release() {
            if (buffer.length > KEEP_BYTES) {
                buffer = new byte[4096];
            }
            size = 0;
        }

        @Override
        public void write(int b) {
            ensure(1);
            buffer[size++] = (byte) b;
        }

        @Override
        public void write(byte[] bytes, int offset, int length) {
            ensure(length);
            System.arraycopy(bytes, offset, buffer, size, length);
            size += length;
        }

        private void ensure(int extra) {
            if (size + extra > buffer.length) {
                long wanted = Math.max((long) buffer.length * 2, (long) size + extra);
                buffer = Arrays.copyOf(buffer, (int) Math.min(wanted, Integer.MAX_VALUE - 8));
            }
        }
    }

    @Override
    public void close() {
        if (ownsClient && client != null) {
            client.close();
        }
    }

    private WritePlan plan(String subject, Schema schema) {
        PlanKey key = new PlanKey(subject, schema);
        WritePlan plan = plans.get(key);
        if (plan != null && (plan.expiresAtMs() == Long.MAX_VALUE || plan.expiresAtMs() > System.currentTimeMillis())) {
            return plan;
        }
        try {
            if (config.useLatestVersion()) {
                RegisteredSchema latest = client.latest(subject);
                long expires = System.currentTimeMillis() + config.latestCacheTtlMs();
                if (latest.schema().equals(schema)) {
                    plan = new WritePlan(latest.id(), schema, new SpecificDatumWriter<>(schema), null, expires);
                } else if (CompatibilityLevel.canRead(latest.schema(), schema)) {
                    plan = new WritePlan(latest.id(), schema, new GenericDatumWriter<>(latest.schema()),
                            new GenericDatumReader<>(schema, latest.schema()), expires);
                } else {
                    throw new IncompatibleSchemaException("a " + schema.getFullName() + " cannot be written with the "
                            + "latest schema (id " + latest.id() + ", version " + latest.version() + ") of subject '"
                            + subject + "'");
                }
            } else {
                int id = config.autoRegisterSchemas() ? client.register(subject, schema) : client.idOf(subject, schema);
                plan = new WritePlan(id, schema, new SpecificDatumWriter<>(schema), null, Long.MAX_VALUE);
            }
        } catch (SchemaRegistryException e) {
            throw RegistryErrors.forSchemaOf(subject, e);
        }
        plans.put(key, plan);
        return plan;
    }

    /** The record resolved onto the writer schema (fields it lacks get their defaults; extra ones are dropped). */
    private Object project(T data, WritePlan plan) throws IOException {
        ByteArrayOutputStream own = new ByteArrayOutputStream(256);
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(own, null);
        new SpecificDatumWriter<Object>(plan.recordSchema()).write(data, encoder);
        encoder.flush();
        BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(own.toByteArray(), null);
        return plan.projector().read(null, decoder);
    }
}
