package io.kdstream.schemas.registry;

import org.apache.avro.Schema;

import java.util.List;

/**
 * The subset of the Confluent Schema Registry that kdstream needs. Implementations cache what never changes (the
 * schema behind an id, the id of a schema under a subject).
 *
 * <p>Errors the registry reports (unknown subject, version or schema, incompatible or invalid schema, refused
 * credentials) are {@link SchemaRegistryException}s carrying the Confluent error code. A registry that cannot be
 * reached is a {@link io.kdstream.schemas.serde.SchemaRegistryUnavailableException}, which is retriable.
 */
public interface SchemaRegistryClient extends AutoCloseable {

    /** Registers {@code schema} under {@code subject} (idempotent) and returns its global id. */
    int register(String subject, Schema schema);

    /** The schema with global id {@code id}; {@link SchemaRegistryException#SCHEMA_NOT_FOUND} if none. */
    Schema getById(int id);

    /** The newest version of {@code subject}. */
    RegisteredSchema latest(String subject);

    /** Version {@code version} of {@code subject}. */
    RegisteredSchema version(String subject, int version);

    /** The id of {@code schema} under {@code subject}, without registering; throws if it is not registered there. */
    int idOf(String subject, Schema schema);

    /** Whether {@code schema} could be registered under {@code subject} by the subject's compatibility rule. */
    boolean isCompatible(String subject, Schema schema);

    /** All subjects, sorted. */
    List<String> subjects();

    @Override
    void close();
}
