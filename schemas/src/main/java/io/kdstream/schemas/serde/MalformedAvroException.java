package io.kdstream.schemas.serde;

import io.kdstream.avro.FailureKind;

/** The bytes after the wire-format header are not a valid Avro encoding of the writer schema: truncated, garbage, trailing bytes, or a length or count larger than the bytes that remain. */
public class MalformedAvroException extends KdSerializationException {

    private static final long serialVersionUID = 1L;

    public MalformedAvroException(String message) {
        super(FailureKind.DESERIALIZATION, message);
    }

    public MalformedAvroException(String message, Throwable cause) {
        super(FailureKind.DESERIALIZATION, message, cause);
    }
}
