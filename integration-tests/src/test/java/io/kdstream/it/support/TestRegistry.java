package io.kdstream.it.support;

import io.kdstream.ops.registry.DevSchemaRegistry;
import io.kdstream.ops.registry.KafkaSchemaStore;

import java.util.Map;

/**
 * The development schema registry on an ephemeral 127.0.0.1 port, keeping its schemas in the given Kafka cluster. Close
 * it to stop the server.
 */
public final class TestRegistry implements AutoCloseable {

    private final DevSchemaRegistry server;

    private TestRegistry(DevSchemaRegistry server) {
        this.server = server;
    }

    public static TestRegistry start(String bootstrapServers) {
        DevSchemaRegistry server = new DevSchemaRegistry("127.0.0.1", 0, new KafkaSchemaStore(bootstrapServers, Map.of()));
        server.start();
        return new TestRegistry(server);
    }

    public String url() {
        return "http://127.0.0.1:" + server.port();
    }

    @Override
    public void close() {
        server.close();
    }
}
