package io.kdstream.schemas.serde;

import io.kdstream.avro.FailureKind;

/** The first byte is not the wire-format magic byte 0, so the bytes are not a kdstream/Confluent Avro record. */
public class UnknownMagicByteException extends KdSerializationException {

    private static final long serialVersionUID = 1L;

    public UnknownMagicByteException(String message) {
        super(FailureKind.DESERIALIZATION, message);
    }

    public UnknownMagicByteException(String message, Throwable cause) {
        super(FailureKind.DESERIALIZATION, message, cause);
    }
}
