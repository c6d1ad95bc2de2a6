package io.kdstream.streams.internals;

import io.kdstream.streams.MonitorQueries;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The interactive-query endpoint of the monitors (JSON over HTTP, GET only):
 * <ul>
 *   <li>{@code GET /monitors/loss-ratio/{run}}: the run's loss-ratio windows and per-trainer state; 404 when this
 *       instance knows nothing about the run;</li>
 *   <li>{@code GET /monitors/failures}: the failure-count windows and late counts.</li>
 * </ul>
 * 503 while the stores are not queryable (rebalancing, restoring).
 */
public final class MonitorHttpServer implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(MonitorHttpServer.class);
    private static final String LOSS_RATIO_PATH = "/monitors/loss-ratio/";
    private static final String FAILURES_PATH = "/monitors/failures";

    private final HttpServer server;
    private final ExecutorService executor;
    private final ObjectMapper json = new ObjectMapper();
    private final MonitorQueries queries;

    private MonitorHttpServer(HttpServer server, ExecutorService executor, MonitorQueries queries) {
        this.server = server;
        this.executor = executor;
        this.queries = queries;
    }

    /** Starts serving on {@code host:port} (port 0: a free port). */
    public static MonitorHttpServer start(String host, int port, MonitorQueries queries) {
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(host, port), 0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot bind the monitor HTTP endpoint to " + host + ":" + port, e);
        }
        ExecutorService executor = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "kdstream-monitor-http");
            t.setDaemon(true);
            return t;
        });
        MonitorHttpServer http = new MonitorHttpServer(server, executor, queries);
        server.createContext("/monitors", http::handle);
        server.setExecutor(executor);
        server.start();
        LOGGER.info("monitor HTTP endpoint listening host={} port={}", host, http.port());
        return http;
    }

    /** The bound port. */
    public int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!"GET".equals(exchange.getRequestMethod())) {
                exchange.getResponseHeaders().set("Allow", "GET");
                send(exchange, 405, Map.of("error", "only GET is supported"));
                return;
            }
            String path = exchange.getRequestURI().getRawPath();
            try {
                if (path.equals(FAILURES_PATH)) {
                    send(exchange, 200, queries.failures());
                } else if (path.startsWith(LOSS_RATIO_PATH) && path.length() > LOSS_RATIO_PATH.length()) {
                    String run = URLDecoder.decode(path.substring(LOSS_RATIO_PATH.length()), StandardCharsets.UTF_8);
                    Optional<MonitorQueries.LossRatioView> view = queries.lossRatio(run);
                    if (view.isPresent()) {
                        send(exchange, 200, view.get());
                    } else {
                        send(exchange, 404, Map.of("error", "no loss-ratio windows for run " + run));
                    }
                } else {
                    send(exchange, 404, Map.of("error", "unknown path " + path, "paths",
                            LOSS_RATIO_PATH + "{run}, " + FAILURES_PATH));
                }
            } catch (InvalidStateStoreException e) {
                LOGGER.debug("stores not queryable", e);
                exchange.getResponseHeaders().set("Retry-After", "1");
                send(exchange, 503, Map.of("error", "monitor stores are not queryable right now: " + e.getMessage()));
            } catch (RuntimeException e) {
                LOGGER.warn("monitor HTTP request failed path={}", path, e);
                send(exchange, 500, Map.of("error", String.valueOf(e.getMessage())));
            }
        }
    }

    private void send(HttpExchange exchange, int status, Object body) throws IOException {
        byte[] bytes = json.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdown();
        try {
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
