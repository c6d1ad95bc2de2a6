package io.kdstream.schemas.serde;

/** Constants of Confluent's wire format: magic byte 0, 4-byte big-endian schema id, Avro binary. */
public final class WireFormat {

    /** The first byte of every record. */
    public static final byte MAGIC_BYTE = 0;
    /** Bytes before the Avro payload: magic byte and schema id. */
    public static final int HEADER_SIZE = 5;

    private WireFormat() {
    }

    /** The schema id of a wire-format record (bytes 1-4, big-endian); the caller checked the length and magic. */
    public static int schemaIdOf(byte[] data) {
        return ((data[1] & 0xff) << 24) | ((data[2] & 0xff) << 16) | ((data[3] & 0xff) << 8) | (data[4] & 0xff);
    }
}
