package io.kdstream.streams;

import io.kdstream.streams.internals.MonitorHttpServer;

import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;

/**
 * The monitor application: the monitors' topology in one Kafka Streams instance, plus the HTTP query endpoint. It
 * only wires configuration and starts; the topology is built by {@link MonitorTopology}.
 */
public final class MonitorApp implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(MonitorApp.class);

    private final KafkaStreams streams;
    private final MonitorHttpServer http;

    private MonitorApp(KafkaStreams streams, MonitorHttpServer http) {
        this.streams = streams;
        this.http = http;
    }

    /** Builds the topology from {@code config}, starts Kafka Streams and, when enabled, the HTTP endpoint. */
    public static MonitorApp start(MonitorConfig config) {
        Objects.requireNonNull(config, "config");
        MonitorTopics topics = config.topics();
        Thresholds thresholds = config.thresholds();
        Topology topology = MonitorTopology.build(topics, thresholds, MonitorSerdes.avro(config.serdeConfig()));
        Properties props = config.streamsProperties();
        KafkaStreams streams = new KafkaStreams(topology, props);
        streams.setUncaughtExceptionHandler(MonitorApp::onUncaught);
        streams.setStateListener((now, before) -> LOGGER.info("monitor state from={} to={}", before, now));
        MonitorHttpServer http = null;
        try {
            if (config.httpEnabled()) {
                http = MonitorHttpServer.start(config.httpHost(), config.httpPort(), MonitorQueries.of(streams));
            }
            streams.start();
        } catch (RuntimeException e) {
            if (http != null) {
                http.close();
            }
            streams.close(Duration.ofSeconds(10));
            throw e;
        }
        LOGGER.info("monitor started applicationId={} metrics={} dlq={} monitors={} alerts={} thresholds={}",
                props.get(MonitorConfig.APPLICATION_ID_CONFIG), topics.metrics(), topics.dlq(), topics.monitors(),
                topics.alerts(), thresholds);
        return new MonitorApp(streams, http);
    }

    private static StreamThreadExceptionResponse onUncaught(Throwable error) {
        for (Throwable c = error; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof RetriableException) {
                LOGGER.warn("monitor stream thread failed on a transient error; replacing the thread", error);
                return StreamThreadExceptionResponse.REPLACE_THREAD;
            }
        }
        LOGGER.error("monitor stream thread failed; shutting the monitor down", error);
        return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    }

    /** The Kafka Streams instance (state, metadata, queries). */
    public KafkaStreams streams() {
        return streams;
    }

    /** Port of the HTTP endpoint, or -1 when it is disabled. */
    public int httpPort() {
        return http == null ? -1 : http.port();
    }

    /**
     * Stops the HTTP endpoint, then Kafka Streams (committing and flushing state). The monitor leaves its consumer
     * group as it stops, so a restarted or replacement monitor takes over the partitions at once instead of after the
     * group's session timeout (45 s by default).
     */
    @Override
    public void close() {
        if (http != null) {
            http.close();
        }
        streams.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                .withTimeout(Duration.ofSeconds(30)));
        LOGGER.info("monitor stopped");
    }

    /**
     * Runs the monitor until the process is stopped. The only argument is an optional properties file with the
     * monitor and Kafka settings.
     */
    public static void main(String[] args) throws InterruptedException {
        Properties props = new Properties();
        if (args.length > 0) {
            try (InputStream in = Files.newInputStream(Path.of(args[0]))) {
                props.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + args[0], e);
            }
        }
        CountDownLatch stopped = new CountDownLatch(1);
        MonitorApp app = start(new MonitorConfig(props));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            app.close();
            stopped.countDown();
        }, "kdstream-monitor-shutdown"));
        stopped.await();
    }
}
