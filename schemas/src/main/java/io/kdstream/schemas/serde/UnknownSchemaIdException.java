package io.kdstream.schemas.serde;

import io.kdstream.avro.FailureKind;

/** The schema id in the wire-format header is not known to the schema registry. */
public class UnknownSchemaIdException extends KdSerializationException {

    private static final long serialVersionUID = 1L;

    private final int schemaId;

    public UnknownSchemaIdException(int schemaId, String message, Throwable cause) {
        super(FailureKind.SCHEMA, message, cause);
        this.schemaId = schemaId;
    }

    /** The id the record named. */
    public int schemaId() {
        return schemaId;
    }
}
