package io.kdstream.ops.cli;

import io.kdstream.ops.observe.HealthCheck;
import io.kdstream.ops.observe.Observability;
import io.kdstream.ops.observe.ObservabilityConfig;
import io.kdstream.ops.observe.ObservabilityServer;

import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --metrics-port} and {@code --metrics-host} of the long-running commands: flags over the {@code metrics.*}
 * settings of the {@code --config} file and the {@code KDSTREAM_METRICS_*} variables.
 */
public final class MetricsOptions {

    @Option(names = "--metrics-port", paramLabel = "PORT",
            description = "Serve /metrics (Prometheus), /health/live and /health/ready on PORT; 0 picks a free port "
                    + "(setting metrics.port; default: no server).")
    Integer port;

    @Option(names = "--metrics-host", paramLabel = "ADDRESS",
            description = "Address the metrics server binds to (setting metrics.host; default: "
                    + ObservabilityConfig.DEFAULT_HOST + ").")
    String host;

    /** The metrics settings of {@code base} (file and environment), overridden by the flags. */
    ObservabilityConfig config(Map<String, ?> base) {
        Map<String, Object> props = new HashMap<>();
        Object p = base.get(ObservabilityConfig.METRICS_PORT_CONFIG);
        if (p != null) {
            props.put(ObservabilityConfig.METRICS_PORT_CONFIG, p);
        }
        Object h = base.get(ObservabilityConfig.METRICS_HOST_CONFIG);
        if (h != null) {
            props.put(ObservabilityConfig.METRICS_HOST_CONFIG, h);
        }
        if (port != null) {
            props.put(ObservabilityConfig.METRICS_PORT_CONFIG, port);
        }
        if (host != null) {
            props.put(ObservabilityConfig.METRICS_HOST_CONFIG, host);
        }
        return new ObservabilityConfig(props);
    }

    /**
     * Starts the server of {@code observability} when {@code config} asks for one, and prints where it listens.
     *
     * @return the started server, or null when none is configured
     */
    static ObservabilityServer start(ObservabilityConfig config, Observability observability, List<HealthCheck> ready,
                                     List<HealthCheck> live, PrintWriter out) {
        if (config.port().isEmpty()) {
            return null;
        }
        ObservabilityServer.Builder b = ObservabilityServer.builder().setObservability(observability)
                .setPort(config.port().getAsInt()).optHost(config.host());
        ready.forEach(b::addCheck);
        live.forEach(b::addLivenessCheck);
        ObservabilityServer server = b.build().start();
        String base = "http://" + config.host() + ":" + server.port();
        out.println("  metrics:  " + base + "/metrics, health: " + base + "/health/live, " + base + "/health/ready");
        out.flush();
        return server;
    }

    /** Stops {@code server} when there is one. */
    static void stop(ObservabilityServer server) {
        if (server != null) {
            server.close();
        }
    }
}
