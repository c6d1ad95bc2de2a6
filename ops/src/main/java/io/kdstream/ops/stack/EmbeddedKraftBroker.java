package io.kdstream.ops.stack;

import io.kdstream.core.KdException;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;

import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;

/**
 * A single-node Kafka cluster running in this JVM: one KRaft process that is both broker and controller, bound to
 * 127.0.0.1, with its log and metadata directories under a data directory that survives restarts.
 *
 * <p>On first start the storage is formatted with a fresh cluster id (written to {@code meta.properties} in the log
 * directory, as {@code kafka-storage format} does); later starts on the same data directory reuse it, so topics,
 * records and committed offsets are kept. The controller quorum is static ({@code controller.quorum.voters}), so the
 * controller port may change between restarts.
 */
public final class EmbeddedKraftBroker implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(EmbeddedKraftBroker.class);

    static final int NODE_ID = 1;
    static final String BROKER_LISTENER = "PLAINTEXT";
    static final String CONTROLLER_LISTENER = "CONTROLLER";
    static final String HOST = "127.0.0.1";

    private final Path logDir;
    private final int brokerPort;
    private final int controllerPort;
    private final Map<String, String> extraConfig;
    private KafkaRaftServer server;
    private DataDirLock lock;
    private String clusterId;
    private boolean formattedNow;

    /**
     * @param dataDir        directory holding the broker's storage; created when missing
     * @param brokerPort     client port; 0 picks a free one
     * @param controllerPort controller port; 0 picks a free one
     * @param extraConfig    broker settings that override the single-node defaults
     */
    public EmbeddedKraftBroker(Path dataDir, int brokerPort, int controllerPort, Map<String, String> extraConfig) {
        Objects.requireNonNull(dataDir, "dataDir");
        this.logDir = dataDir.toAbsolutePath().resolve("kafka-logs");
        this.brokerPort = brokerPort == 0 ? FreePorts.pick() : requirePort(brokerPort, "brokerPort");
        this.controllerPort = controllerPort == 0 ? FreePorts.pickOtherThan(this.brokerPort)
                : requirePort(controllerPort, "controllerPort");
        if (this.brokerPort == this.controllerPort) {
            throw new IllegalArgumentException("broker and controller ports must differ, both are " + brokerPort);
        }
        this.extraConfig = Map.copyOf(extraConfig);
    }

    private static int requirePort(int port, String name) {
        if (port < 1 || port > 65_535) {
            throw new IllegalArgumentException(name + " must be 0 (free port) or in 1..65535, was " + port);
        }
        return port;
    }

    /** The broker settings for this node: single-node replication, no auto topic creation, no rebalance delay. */
    Map<String, String> brokerConfig() {
        Map<String, String> props = new HashMap<>();
        props.put("process.roles", "broker,controller");
        props.put("node.id", Integer.toString(NODE_ID));
        props.put("controller.quorum.voters", NODE_ID + "@" + HOST + ":" + controllerPort);
        props.put("listeners", BROKER_LISTENER + "://" + HOST + ":" + brokerPort + ","
                + CONTROLLER_LISTENER + "://" + HOST + ":" + controllerPort);
        props.put("advertised.listeners", BROKER_LISTENER + "://" + HOST + ":" + brokerPort);
        props.put("listener.security.protocol.map", BROKER_LISTENER + ":PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
        props.put("controller.listener.names", CONTROLLER_LISTENER);
        props.put("inter.broker.listener.name", BROKER_LISTENER);
        props.put("log.dirs", logDir.toString());
        props.put("metadata.log.dir", logDir.toString());
        props.put("auto.create.topics.enable", "false");
        props.put("num.partitions", "1");
        props.put("default.replication.factor", "1");
        props.put("min.insync.replicas", "1");
        props.put("offsets.topic.replication.factor", "1");
        props.put("offsets.topic.num.partitions", "10");
        props.put("transaction.state.log.replication.factor", "1");
        props.put("transaction.state.log.min.isr", "1");
        props.put("transaction.state.log.num.partitions", "10");
        props.put("share.coordinator.state.topic.replication.factor", "1");
        props.put("share.coordinator.state.topic.min.isr", "1");
        props.put("group.initial.rebalance.delay.ms", "0");
        props.put("log.flush.interval.messages", Long.toString(Long.MAX_VALUE));
        props.put("controlled.shutdown.enable", "true");
        props.putAll(extraConfig);
        return props;
    }

    /** Formats the storage when needed and starts the node; returns once the broker accepts clients. */
    public synchronized EmbeddedKraftBroker start() {
        if (server != null) {
            throw new IllegalStateException("already started");
        }
        FreePorts.requireFree(brokerPort, "Kafka");
        FreePorts.requireFree(controllerPort, "KRaft controller");
        KafkaConfig config = new KafkaConfig(brokerConfig(), false);
        // one node per data directory: a second one must not get as far as opening the metadata log
        DataDirLock acquired = DataDirLock.acquire(logDir.getParent());
        try {
            Files.createDirectories(logDir);
            Optional<String> existing = readClusterId(logDir);
            if (existing.isPresent()) {
                clusterId = existing.get();
                formattedNow = false;
            } else {
                clusterId = Uuid.randomUuid().toString();
                format(config, clusterId);
                formattedNow = true;
            }
        } catch (IOException | RuntimeException e) {
            acquired.close();
            if (e instanceof RuntimeException re) {
                throw re;
            }
            throw new KdException("cannot prepare the broker data directory " + logDir + ": " + e.getMessage(), e);
        }
        LOGGER.debug("Starting embedded KRaft node clusterId={} logDir={} brokerPort={} controllerPort={} formatted={}",
                clusterId, logDir, brokerPort, controllerPort, formattedNow);
        KafkaRaftServer raftServer = new KafkaRaftServer(config, Time.SYSTEM);
        try {
            raftServer.startup();
        } catch (RuntimeException e) {
            safeShutdown(raftServer);
            acquired.close();
            throw new KdException("embedded Kafka broker failed to start on " + bootstrapServers() + ": "
                    + rootMessage(e), e);
        }
        server = raftServer;
        lock = acquired;
        return this;
    }

    private void format(KafkaConfig config, String newClusterId) {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(sink, true, StandardCharsets.UTF_8)) {
            new Formatter()
                    .setPrintStream(out)
                    .setNodeId(NODE_ID)
                    .setClusterId(newClusterId)
                    .setControllerListenerName(CONTROLLER_LISTENER)
                    .setMetadataLogDirectory(config.metadataLogDir())
                    .addDirectory(logDir.toString())
                    .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
                    .setIgnoreFormatted(true)
                    .run();
        } catch (Exception e) {
            throw new KdException("cannot format the broker storage in " + logDir + ": " + e.getMessage(), e);
        }
        LOGGER.debug("Formatted storage: {}", sink.toString(StandardCharsets.UTF_8).trim());
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() != null ? t.getMessage() : t.toString();
    }

    static Optional<String> readClusterId(Path logDir) throws IOException {
        Path meta = logDir.resolve("meta.properties");
        if (!Files.isRegularFile(meta)) {
            return Optional.empty();
        }
        Properties props = new Properties();
        try (InputStream in = Files.newInputStream(meta)) {
            props.load(in);
        }
        String id = props.getProperty("cluster.id");
        if (id == null || id.isBlank()) {
            throw new IOException(meta + " has no cluster.id; delete the data directory to start afresh");
        }
        return Optional.of(id.trim());
    }

    public String bootstrapServers() {
        return HOST + ":" + brokerPort;
    }

    public int brokerPort() {
        return brokerPort;
    }

    public int controllerPort() {
        return controllerPort;
    }

    /** The cluster id of the storage, known after {@link #start()}. */
    public String clusterId() {
        return clusterId;
    }

    /** Whether the last {@link #start()} formatted a new storage (false when it reused an existing one). */
    public boolean formattedOnStart() {
        return formattedNow;
    }

    public Path logDir() {
        return logDir;
    }

    @Override
    public synchronized void close() {
        KafkaRaftServer running = server;
        DataDirLock held = lock;
        server = null;
        lock = null;
        if (running != null) {
            LOGGER.debug("Stopping embedded KRaft node {}", bootstrapServers());
            safeShutdown(running);
        }
        if (held != null) {
            held.close();
        }
    }

    private static void safeShutdown(KafkaRaftServer raftServer) {
        try {
            raftServer.shutdown();
            raftServer.awaitShutdown();
        } catch (RuntimeException e) {
            LOGGER.warn("Error while stopping the embedded broker: {}", e.toString());
        }
    }
}
