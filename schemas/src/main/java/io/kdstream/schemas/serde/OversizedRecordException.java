package io.kdstream.schemas.serde;

import io.kdstream.avro.FailureKind;

/** The encoded record is larger than kdstream.avro.max.record.bytes. */
public class OversizedRecordException extends KdSerializationException {

    private static final long serialVersionUID = 1L;

    public OversizedRecordException(String message) {
        super(FailureKind.OVERSIZED, message);
    }

    public OversizedRecordException(String message, Throwable cause) {
        super(FailureKind.OVERSIZED, message, cause);
    }
}
