package io.kdstream.ops.consume;

import io.kdstream.schemas.registry.SchemaRegistryClient;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Decodes values in the Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro binary) into generic
 * Avro data, with the writer schema fetched from the registry by id. Used by tools that show any topic without knowing
 * its record type.
 */
public final class WireFormatDecoder {

    /** A decoded value and the id of the schema it was written with. */
    public record Decoded(int schemaId, Object value) {
    }

    /** A value that is not a well-formed wire-format Avro record. */
    public static final class UndecodableValueException extends Exception {
        private static final long serialVersionUID = 1L;

        public UndecodableValueException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final SchemaRegistryClient registry;
    private final Map<Integer, GenericDatumReader<Object>> readers = new HashMap<>();
    private BinaryDecoder reuse;

    public WireFormatDecoder(SchemaRegistryClient registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    /**
     * Decodes {@code bytes}.
     *
     * @throws UndecodableValueException when the bytes are not in the wire format, the schema id is unknown to the
     *                                   registry, or the Avro body does not match the schema; the message says which
     */
    public Decoded decode(byte[] bytes) throws UndecodableValueException {
        if (bytes.length < 5) {
            throw new UndecodableValueException("not in the Confluent wire format: " + bytes.length
                    + " byte(s), expected at least 5", null);
        }
        if (bytes[0] != 0) {
            throw new UndecodableValueException("not in the Confluent wire format: magic byte is " + (bytes[0] & 0xFF)
                    + ", expected 0", null);
        }
        int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
        GenericDatumReader<Object> reader = readers.get(id);
        if (reader == null) {
            Schema schema;
            try {
                schema = registry.getById(id);
            } catch (RuntimeException e) {
                throw new UndecodableValueException("schema id " + id + " cannot be fetched from the registry: "
                        + e.getMessage(), e);
            }
            reader = new GenericDatumReader<>(schema);
            readers.put(id, reader);
        }
        try {
            reuse = DecoderFactory.get().binaryDecoder(bytes, 5, bytes.length - 5, reuse);
            Object value = reader.read(null, reuse);
            if (!reuse.isEnd()) {
                throw new UndecodableValueException("Avro body of schema id " + id + " has trailing bytes", null);
            }
            return new Decoded(id, value);
        } catch (IOException | RuntimeException e) {
            throw new UndecodableValueException("Avro body does not match schema id " + id + ": "
                    + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()), e);
        }
    }
}
