package io.kdstream.schemas.registry;

import org.apache.avro.Schema;

import java.util.Objects;

/**
 * One version of a subject in a schema registry: the subject, its version (from 1), the global schema id and the
 * schema.
 */
public record RegisteredSchema(String subject, int version, int id, Schema schema) {

    public RegisteredSchema {
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(schema, "schema");
        if (subject.isBlank()) {
            throw new IllegalArgumentException("subject must not be blank");
        }
        if (version < 1) {
            throw new IllegalArgumentException("version must be >= 1, got " + version);
        }
        if (id < 0) {
            throw new IllegalArgumentException("id must be >= 0, got " + id);
        }
    }
}
