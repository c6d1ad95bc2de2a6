package io.kdstream.ops.stack;

import io.kdstream.core.KdException;
import io.kdstream.ops.registry.DevSchemaRegistry;
import io.kdstream.ops.registry.KafkaSchemaStore;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The local development stack: a single-node KRaft Kafka broker ({@link EmbeddedKraftBroker}) and the development
 * schema registry, which keeps its schemas in a compacted Kafka topic of that broker. Everything lives under one data
 * directory, so stopping and starting the stack on the same directory keeps topics, records, offsets and schema ids.
 * Both servers bind 127.0.0.1 only.
 *
 * <pre>{@code
 * try (LocalStack stack = LocalStack.builder().optDataDir(dir).optKafkaPort(0).optRegistryPort(0).build().start()) {
 *     String bootstrap = stack.bootstrapServers();   // 127.0.0.1:port
 *     String registry = stack.registryUrl();          // http://127.0.0.1:port
 * }
 * }</pre>
 */
public final class LocalStack implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(LocalStack.class);

    public static final int DEFAULT_KAFKA_PORT = 9092;
    public static final int DEFAULT_REGISTRY_PORT = 8081;
    /** How long {@link #start()} waits for the broker to accept clients. */
    static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    private final Path dataDir;
    private final int kafkaPort;
    private final int registryPort;
    private final int controllerPort;
    private final Map<String, String> brokerOverrides;
    private EmbeddedKraftBroker broker;
    private DevSchemaRegistry registry;

    private LocalStack(Builder builder) {
        this.dataDir = builder.dataDir;
        this.kafkaPort = builder.kafkaPort;
        this.registryPort = builder.registryPort;
        this.controllerPort = builder.controllerPort;
        this.brokerOverrides = Map.copyOf(builder.brokerOverrides);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** {@code ${KDSTREAM_HOME:-~/.kdstream}/local}. */
    public static Path defaultDataDir() {
        return defaultDataDir(System.getenv("KDSTREAM_HOME"), System.getProperty("user.home"));
    }

    static Path defaultDataDir(String kdstreamHome, String userHome) {
        Path home = kdstreamHome != null && !kdstreamHome.isBlank()
                ? Path.of(kdstreamHome) : Path.of(userHome, ".kdstream");
        return home.resolve("local");
    }

    /** Starts the broker, waits until it serves clients, then starts the registry. */
    public synchronized LocalStack start() {
        if (broker != null) {
            throw new IllegalStateException("already started");
        }
        if (registryPort != 0) {
            FreePorts.requireFree(registryPort, "schema registry");
        }
        try {
            broker = new EmbeddedKraftBroker(dataDir.resolve("kafka"), kafkaPort, controllerPort, brokerOverrides).start();
            awaitBrokerReady(broker.bootstrapServers());
            registry = startRegistry(broker.bootstrapServers());
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        LOGGER.info("Local stack up bootstrapServers={} registryUrl={} dataDir={}", bootstrapServers(), registryUrl(), dataDir);
        return this;
    }

    private DevSchemaRegistry startRegistry(String bootstrapServers) {
        KafkaSchemaStore store = new KafkaSchemaStore(bootstrapServers, Map.of());
        DevSchemaRegistry server = new DevSchemaRegistry(EmbeddedKraftBroker.HOST, registryPort, store);
        server.start();
        return server;
    }

    private static void awaitBrokerReady(String bootstrapServers) {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                AdminClientConfig.CLIENT_ID_CONFIG, "kdstream-local-stack"))) {
            while (true) {
                try {
                    if (!admin.describeCluster(new DescribeClusterOptions().timeoutMs(5_000)).nodes()
                            .get(6, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (ExecutionException | TimeoutException e) {
                    if (System.nanoTime() > deadline) {
                        throw new KdException("embedded broker on " + bootstrapServers + " did not become ready within "
                                + READY_TIMEOUT.toSeconds() + " s: " + e.getMessage(), e);
                    }
                }
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KdException("interrupted while waiting for the embedded broker", e);
        }
    }

    public String bootstrapServers() {
        requireStarted();
        return broker.bootstrapServers();
    }

    public String registryUrl() {
        requireStarted();
        return "http://" + EmbeddedKraftBroker.HOST + ":" + registry.port();
    }

    /** The Kafka cluster id, kept in the data directory across restarts. */
    public String clusterId() {
        requireStarted();
        return broker.clusterId();
    }

    /** Whether this start formatted a new storage (false when it reused the data directory). */
    public boolean freshStorage() {
        requireStarted();
        return broker.formattedOnStart();
    }

    public Path dataDir() {
        return dataDir;
    }

    private void requireStarted() {
        if (broker == null || registry == null) {
            throw new IllegalStateException("the local stack is not running");
        }
    }

    /** Stops the registry, then the broker. Idempotent. */
    @Override
    public synchronized void close() {
        DevSchemaRegistry r = registry;
        EmbeddedKraftBroker b = broker;
        registry = null;
        broker = null;
        if (r != null) {
            try {
                r.close();
            } catch (RuntimeException e) {
                LOGGER.warn("Error while stopping the schema registry: {}", e.toString());
            }
        }
        if (b != null) {
            b.close();
        }
    }

    /** Builds a {@link LocalStack}; every setting is optional. */
    public static final class Builder {
        private Path dataDir = defaultDataDir();
        private int kafkaPort = DEFAULT_KAFKA_PORT;
        private int registryPort = DEFAULT_REGISTRY_PORT;
        private int controllerPort;
        private Map<String, String> brokerOverrides = Map.of();

        private Builder() {
        }

        /** Directory for all state (default {@code ${KDSTREAM_HOME:-~/.kdstream}/local}). */
        public Builder optDataDir(Path dir) {
            this.dataDir = Objects.requireNonNull(dir, "dataDir");
            return this;
        }

        /** Kafka client port (default 9092); 0 picks a free port. */
        public Builder optKafkaPort(int port) {
            this.kafkaPort = port;
            return this;
        }

        /** Schema registry port (default 8081); 0 picks a free port. */
        public Builder optRegistryPort(int port) {
            this.registryPort = port;
            return this;
        }

        /** KRaft controller port (default 0, a free port). */
        public Builder optControllerPort(int port) {
            this.controllerPort = port;
            return this;
        }

        /** Broker settings that override the single-node defaults. */
        public Builder optBrokerConfig(Map<String, String> overrides) {
            this.brokerOverrides = Map.copyOf(overrides);
            return this;
        }

        public LocalStack build() {
            for (int port : new int[] {kafkaPort, registryPort, controllerPort}) {
                if (port < 0 || port > 65_535) {
                    throw new IllegalArgumentException("ports must be 0 (free port) or 1..65535, got " + port);
                }
            }
            if (kafkaPort != 0 && (kafkaPort == registryPort || kafkaPort == controllerPort)
                    || registryPort != 0 && registryPort == controllerPort) {
                throw new IllegalArgumentException("Kafka, registry and controller ports must differ: " + kafkaPort + ", "
                        + registryPort + ", " + controllerPort);
            }
            return new LocalStack(this);
        }
    }
}
