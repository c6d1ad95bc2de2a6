package io.kdstream.ops.cli;

import io.kdstream.ops.observe.HealthCheck;
import io.kdstream.ops.observe.Observability;
import io.kdstream.ops.observe.ObservabilityConfig;
import io.kdstream.ops.observe.ObservabilityServer;
import io.kdstream.streams.MonitorApp;
import io.kdstream.streams.MonitorConfig;

import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** {@code kdstream monitor}: runs the loss-ratio, failure-count and staleness monitors until Ctrl-C or SIGTERM. */
@Command(name = "monitor", mixinStandardHelpOptions = true,
        description = {"Run the monitors (one Kafka Streams application): loss ratio per run and trainer, "
                + "dead-letter counts per component and kind, trainer staleness. Windows go to kd.monitors, alerts "
                + "to kd.alerts; GET /monitors/loss-ratio/{run} and /monitors/failures serve the current windows. "
                + "Runs until interrupted (Ctrl-C).",
            "Every monitor.* setting (windows, band, thresholds) can be given with -p or in the --config file; "
                + "see docs/monitors.md."})
public final class MonitorCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connection;

    @Option(names = "--application-id", paramLabel = "ID",
            description = "Kafka Streams application id (default: " + MonitorConfig.DEFAULT_APPLICATION_ID + ").")
    String applicationId;

    @Option(names = "--http-port", paramLabel = "PORT",
            description = "Port of the HTTP query endpoint on 127.0.0.1; 0 picks a free one (default: 8090).")
    Integer httpPort;

    @Option(names = "--state-dir", paramLabel = "DIR", description = "Directory of the local state stores.")
    Path stateDir;

    @Option(names = {"-p", "--property"}, paramLabel = "KEY=VALUE",
            description = "Any monitor, Kafka Streams or client setting, e.g. -p monitor.failure.threshold=20.")
    Map<String, String> properties = new LinkedHashMap<>();

    @Mixin
    MetricsOptions metrics;

    /** The metrics server settings: connection settings, then -p properties, then the --metrics-* flags. */
    ObservabilityConfig metricsConfig() {
        Map<String, Object> settings = new HashMap<>(connection.properties());
        settings.putAll(properties);
        return metrics.config(settings);
    }

    /** Ready while the Kafka Streams instance runs (rebalancing included). */
    static boolean ready(KafkaStreams.State state) {
        return state == KafkaStreams.State.RUNNING || state == KafkaStreams.State.REBALANCING;
    }

    /** Live unless the Kafka Streams instance failed (its threads are gone; only a restart helps). */
    static boolean live(KafkaStreams.State state) {
        return state != KafkaStreams.State.ERROR && state != KafkaStreams.State.PENDING_ERROR;
    }

    /** The monitor configuration: connection settings, then -p properties, then the dedicated flags. */
    MonitorConfig config() {
        Map<String, Object> settings = new HashMap<>(connection.properties());
        settings.putAll(properties);
        if (applicationId != null) {
            settings.put(MonitorConfig.APPLICATION_ID_CONFIG, applicationId);
        }
        if (httpPort != null) {
            settings.put(MonitorConfig.HTTP_PORT_CONFIG, httpPort);
        }
        if (stateDir != null) {
            settings.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        }
        return new MonitorConfig(settings);
    }

    @Override
    public Integer call() throws InterruptedException {
        MonitorConfig config = config();
        ObservabilityConfig metricsConfig = metricsConfig();
        PrintWriter out = spec.commandLine().getOut();
        Observability observability = Observability.forService("monitor");
        MonitorApp app = null;
        ObservabilityServer server;
        try {
            app = MonitorApp.start(config);
            observability.bind(app.streams());
            KafkaStreams streams = app.streams();
            server = MetricsOptions.start(metricsConfig, observability,
                    List.of(new HealthCheck("streams", () -> ready(streams.state()))),
                    List.of(new HealthCheck("streams", () -> live(streams.state()))), out);
        } catch (RuntimeException e) {
            if (app != null) {
                app.close();
            }
            observability.close();
            throw e;
        }
        MonitorApp started = app;
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            out.println("stopping the monitors ...");
            out.flush();
            MetricsOptions.stop(server);
            started.close();
            observability.close();
            out.println("stopped");
            out.flush();
            stopped.countDown();
        }, "kdstream-monitor-shutdown"));
        out.println("kdstream monitors are running");
        out.println("  reading:  " + config.topics().metrics() + ", " + config.topics().dlq() + ", "
                + config.topics().runs());
        out.println("  writing:  " + config.topics().monitors() + ", " + config.topics().alerts());
        if (started.httpPort() > 0) {
            out.println("  queries:  http://" + config.httpHost() + ":" + started.httpPort()
                    + "/monitors/loss-ratio/{run}, /monitors/failures");
        }
        out.println("press Ctrl-C to stop");
        out.flush();
        while (!stopped.await(1, TimeUnit.HOURS)) {
            // run until the shutdown hook has closed the monitors
        }
        return 0;
    }
}
