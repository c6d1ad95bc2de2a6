package io.kdstream.schemas.serde;

import io.kdstream.avro.FailureKind;
import io.kdstream.schemas.registry.SchemaRegistryException;

/** Sorts registry errors into record problems (serialization exceptions) and everything else (rethrown). */
final class RegistryErrors {

    private RegistryErrors() {
    }

    /**
     * The serialization exception for a registry error that is about the record's schema; the error itself when it
     * is not (refused credentials, unexpected answers), so that callers treat it as fatal rather than dead-letter.
     */
    static RuntimeException forSchemaOf(String subject, SchemaRegistryException e) {
        if (e.errorCode() == SchemaRegistryException.INCOMPATIBLE_SCHEMA) {
            return new IncompatibleSchemaException("schema registry refused the schema for subject '" + subject
                    + "': " + e.getMessage(), e);
        }
        if (e.isNotFound()) {
            return new KdSerializationException(FailureKind.SCHEMA, "schema is not registered under subject '"
                    + subject + "': " + e.getMessage(), e);
        }
        if (e.errorCode() == SchemaRegistryException.INVALID_SCHEMA) {
            return new KdSerializationException(FailureKind.SCHEMA, "schema registry rejected the schema for subject '"
                    + subject + "' as invalid: " + e.getMessage(), e);
        }
        return e;
    }
}
