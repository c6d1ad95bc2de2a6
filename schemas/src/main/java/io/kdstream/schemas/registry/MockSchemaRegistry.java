package io.kdstream.schemas.registry;

import org.apache.avro.Schema;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * An in-process registry for tests, reached with {@code mock://scope}: every client of the same scope sees the same
 * registrations, with the same rules as a real registry (see {@link RegistryState}). Drop a scope between tests with
 * {@link #dropScope(String)}.
 */
public final class MockSchemaRegistry implements SchemaRegistryClient {

    private static final ConcurrentMap<String, RegistryState> SCOPES = new ConcurrentHashMap<>();

    private final String scope;
    private final RegistryState state;

    private MockSchemaRegistry(String scope, RegistryState state) {
        this.scope = scope;
        this.state = state;
    }

    /** A client of the registry of {@code scope}, created empty on first use. */
    public static MockSchemaRegistry forScope(String scope) {
        Objects.requireNonNull(scope, "scope");
        return new MockSchemaRegistry(scope, SCOPES.computeIfAbsent(scope, s -> new RegistryState()));
    }

    /** Forgets every registration of {@code scope}; clients already open keep the old state. */
    public static void dropScope(String scope) {
        SCOPES.remove(scope);
    }

    /** The scope this client talks to. */
    public String scope() {
        return scope;
    }

    /** Sets the compatibility level of {@code subject}, or the global one when it is null. */
    public void setCompatibility(String subject, CompatibilityLevel level) {
        state.setCompatibility(subject, level);
    }

    @Override
    public int register(String subject, Schema schema) {
        return state.register(subject, schema).id();
    }

    @Override
    public Schema getById(int id) {
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
    public int idOf(String subject, Schema schema) {
        return state.lookup(subject, schema).id();
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
    public void close() {
        // nothing to release: the scope outlives its clients
    }
}
