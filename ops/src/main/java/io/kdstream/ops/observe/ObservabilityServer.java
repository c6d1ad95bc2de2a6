package io.kdstream.ops.observe;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A small HTTP server for operations: {@code GET /metrics} (Prometheus text format), {@code GET /health/live}
 * (liveness: 200 while every liveness {@link HealthCheck} is up, else 503; with none, 200 while the process serves
 * requests), {@code GET /health/ready} (readiness: 200 when every readiness check is up, else 503) and
 * {@code GET /health} (both, as JSON). Binds 127.0.0.1 by default.
 *
 * <pre>{@code
 * try (Observability obs = Observability.forService("teacher-service");
 *      ObservabilityServer server = ObservabilityServer.builder().setObservability(obs).setPort(9404)
 *              .addCheck(new HealthCheck("workers", service::isRunning)).build().start()) {
 *     ...
 * }
 * }</pre>
 */
public final class ObservabilityServer implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(ObservabilityServer.class);
    static final String PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final Observability observability;
    private final String host;
    private final int requestedPort;
    private final List<HealthCheck> checks;
    private final List<HealthCheck> livenessChecks;
    private HttpServer server;
    private ExecutorService executor;

    private ObservabilityServer(Builder b) {
        this.observability = b.observability;
        this.host = b.host;
        this.requestedPort = b.port;
        this.checks = List.copyOf(b.checks);
        this.livenessChecks = List.copyOf(b.livenessChecks);
    }

    public static Builder builder() {
        return new Builder();
    }

    public synchronized ObservabilityServer start() {
        if (server != null) {
            throw new IllegalStateException("already started");
        }
        try {
            server = HttpServer.create(new InetSocketAddress(host, requestedPort), 16);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on " + host + ":" + requestedPort
                    + " for metrics and health (is the port in use? choose another with --metrics-port)", e);
        }
        executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "kdstream-observability-http");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/metrics", ex -> handle(ex, () -> new Response(200, PROMETHEUS_CONTENT_TYPE,
                observability.scrape())));
        server.createContext("/health/live", ex -> handle(ex, () -> status(livenessChecks, null)));
        server.createContext("/health/ready", ex -> handle(ex, () -> status(checks, null)));
        server.createContext("/health", ex -> handle(ex, () -> "/health".equals(ex.getRequestURI().getPath())
                ? status(checks, allUp(livenessChecks)) : json(404, "{\"error\":\"not found\"}")));
        server.start();
        LOGGER.info("Metrics and health on http://{}:{}/metrics and /health", host, port());
        return this;
    }

    /** The port listened on (the chosen one when started with port 0). */
    public int port() {
        return address().getPort();
    }

    /** The address and port listened on. */
    public synchronized InetSocketAddress address() {
        if (server == null) {
            throw new IllegalStateException("not started");
        }
        return server.getAddress();
    }

    private record Response(int status, String contentType, String body) {
    }

    private interface Handler {
        Response respond();
    }

    private static boolean allUp(List<HealthCheck> list) {
        boolean up = true;
        for (HealthCheck c : list) {
            up &= c.up();
        }
        return up;
    }

    /** The JSON status of {@code list}; with {@code live} (for /health) the liveness and readiness verdicts too. */
    private static Response status(List<HealthCheck> list, Boolean live) {
        StringBuilder sb = new StringBuilder("{\"status\":\"");
        boolean allUp = true;
        StringBuilder details = new StringBuilder();
        for (HealthCheck c : list) {
            boolean up = c.up();
            allUp &= up;
            details.append(details.length() == 0 ? "" : ",").append('"').append(c.name()).append("\":\"")
                    .append(up ? "UP" : "DOWN").append('"');
        }
        boolean ok = allUp && (live == null || live);
        sb.append(ok ? "UP" : "DOWN").append('"');
        if (live != null) {
            sb.append(",\"live\":\"").append(live ? "UP" : "DOWN").append("\",\"ready\":\"")
                    .append(allUp ? "UP" : "DOWN").append('"');
        }
        sb.append(",\"checks\":{").append(details).append("}}");
        return json(ok ? 200 : 503, sb.toString());
    }

    private static Response json(int status, String body) {
        return new Response(status, "application/json; charset=utf-8", body);
    }

    private static void handle(HttpExchange ex, Handler handler) throws IOException {
        try (ex) {
            String method = ex.getRequestMethod();
            Response r;
            if (!"GET".equals(method) && !"HEAD".equals(method)) {
                ex.getResponseHeaders().set("Allow", "GET, HEAD");
                r = json(405, "{\"error\":\"method not allowed\"}");
            } else {
                try {
                    r = handler.respond();
                } catch (RuntimeException e) {
                    LOGGER.warn("Observability endpoint {} failed: {}", ex.getRequestURI(), e.toString());
                    r = json(500, "{\"error\":\"internal error\"}");
                }
            }
            byte[] body = r.body().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", r.contentType());
            if ("HEAD".equals(method)) {
                ex.sendResponseHeaders(r.status(), -1);
                return;
            }
            ex.sendResponseHeaders(r.status(), body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    @Override
    public synchronized void close() {
        if (server != null) {
            server.stop(0);
            server = null;
        }
        if (executor != null) {
            executor.shutdownNow();
            executor = null;
        }
    }

    /** Builds an {@link ObservabilityServer}: the observability and the port are required. */
    public static final class Builder {
        private Observability observability;
        private String host = "127.0.0.1";
        private int port = -1;
        private final List<HealthCheck> checks = new ArrayList<>();
        private final List<HealthCheck> livenessChecks = new ArrayList<>();

        private Builder() {
        }

        public Builder setObservability(Observability o) {
            this.observability = o;
            return this;
        }

        /** Port to listen on; 0 picks a free one. */
        public Builder setPort(int p) {
            this.port = p;
            return this;
        }

        /** Address to bind (default 127.0.0.1; 0.0.0.0 inside a container whose port is published). */
        public Builder optHost(String h) {
            this.host = Objects.requireNonNull(h, "host");
            return this;
        }

        /** A readiness condition. */
        public Builder addCheck(HealthCheck c) {
            checks.add(Objects.requireNonNull(c, "check"));
            return this;
        }

        /** A liveness condition: down means the process is stuck and should be restarted. */
        public Builder addLivenessCheck(HealthCheck c) {
            livenessChecks.add(Objects.requireNonNull(c, "check"));
            return this;
        }

        public ObservabilityServer build() {
            Objects.requireNonNull(observability, "setObservability is required");
            if (port < 0 || port > 65_535) {
                throw new IllegalArgumentException("setPort is required: 0 (a free port) or 1..65535, got " + port);
            }
            return new ObservabilityServer(this);
        }
    }
}
