package io.kdstream.ops.registry;

import io.kdstream.schemas.registry.CompatibilityLevel;
import io.kdstream.schemas.registry.RegisteredSchema;
import io.kdstream.schemas.registry.RegistryState;
import org.apache.avro.Schema;

import java.util.List;

/** A {@link SchemaStore} that keeps everything in memory: lost when the process ends. For tests and demos. */
public class InMemorySchemaStore implements SchemaStore {

    private final RegistryState state = new RegistryState();

    @Override
    public void start() {
        // nothing to load
    }

    @Override
    public RegisteredSchema register(String subject, Schema schema) {
        return state.register(subject, schema);
    }

    @Override
    public Schema byId(int id) {
        return state.byId(id);
    }

    @Override
    public RegisteredSchema latest(String subject) {
        return state.latest(subject);
    }

    @Override
    public RegisteredSchema version(String subject, int version) {
        return state.version(subject, version);
    }

    @Override
    public List<Integer> versions(String subject) {
        return state.versions(subject);
    }

    @Override
    public RegisteredSchema lookup(String subject, Schema schema) {
        return state.lookup(subject, schema);
    }

    @Override
    public boolean isCompatible(String subject, Schema schema) {
        return state.isCompatible(subject, schema);
    }

    @Override
    public List<String> subjects() {
        return state.subjects();
    }

    @Override
    public CompatibilityLevel compatibility(String subject) {
        return subject == null ? state.globalCompatibility() : state.compatibility(subject);
    }

    @Override
    public void setCompatibility(String subject, CompatibilityLevel level) {
        state.setCompatibility(subject, level);
    }

    @Override
    public void close() {
        // nothing to release
    }
}
