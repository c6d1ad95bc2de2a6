package io.kdstream.ops.registry;

import io.kdstream.schemas.registry.CompatibilityLevel;
import io.kdstream.schemas.registry.RegisteredSchema;
import io.kdstream.schemas.registry.SchemaRegistryException;
import org.apache.avro.Schema;

import java.util.List;

/**
 * Where the development registry keeps subjects, versions, ids and compatibility levels, with the rules of a
 * Confluent registry ({@link io.kdstream.schemas.registry.RegistryState}). Errors are
 * {@link SchemaRegistryException}s carrying Confluent error codes; a store that cannot persist throws
 * {@link SchemaStoreException}. Implementations are thread-safe.
 */
public interface SchemaStore extends AutoCloseable {

    /** Loads what the store holds (e.g. replays its log); called once before any other method. */
    void start();

    /** Registers {@code schema} under {@code subject}, durably before returning; idempotent. */
    RegisteredSchema register(String subject, Schema schema);

    Schema byId(int id);

    RegisteredSchema latest(String subject);

    RegisteredSchema version(String subject, int version);

    List<Integer> versions(String subject);

    /** The registration of {@code schema} under {@code subject}, without registering. */
    RegisteredSchema lookup(String subject, Schema schema);

    /** Whether {@code schema} may be registered under {@code subject}. */
    boolean isCompatible(String subject, Schema schema);

    List<String> subjects();

    /** The level in force for {@code subject}, or the global level when it is null. */
    CompatibilityLevel compatibility(String subject);

    /** Sets the level of {@code subject}, or the global level when it is null; durably before returning. */
    void setCompatibility(String subject, CompatibilityLevel level);

    @Override
    void close();
}
