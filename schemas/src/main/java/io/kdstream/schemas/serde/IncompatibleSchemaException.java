package io.kdstream.schemas.serde;

import io.kdstream.avro.FailureKind;

/** The writer schema cannot be resolved to the reader schema, or the registry refused a schema as incompatible with the subject's earlier versions. */
public class IncompatibleSchemaException extends KdSerializationException {

    private static final long serialVersionUID = 1L;

    public IncompatibleSchemaException(String message) {
        super(FailureKind.SCHEMA, message);
    }

    public IncompatibleSchemaException(String message, Throwable cause) {
        super(FailureKind.SCHEMA, message, cause);
    }
}
