package io.kdstream.streams;

import io.kdstream.avro.FailureKind;
import io.kdstream.streams.internals.LossAccumulator;
import io.kdstream.streams.internals.LossRatioState;
import io.kdstream.streams.internals.MonitorHttpServer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

import static io.kdstream.streams.MonitorHarness.failure;
import static io.kdstream.streams.MonitorHarness.step;
import static org.assertj.core.api.Assertions.assertThat;

class MonitorHttpServerTest {

    @TempDir
    Path stateDir;

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final ObjectMapper json = new ObjectMapper();

    private HttpResponse<String> get(int port, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static MonitorQueries queries(MonitorHarness h) {
        return new MonitorQueries(
                () -> h.driver.<String, LossAccumulator>getWindowStore(LossRatioMonitor.WINDOW_STORE),
                () -> h.driver.<String, LossRatioState>getKeyValueStore(LossRatioMonitor.STATE_STORE),
                () -> h.driver.<String, Long>getKeyValueStore(LossRatioMonitor.LATE_STORE),
                () -> h.driver.<String, Long>getWindowStore(FailureCountMonitor.WINDOW_STORE),
                () -> h.driver.<String, Long>getKeyValueStore(FailureCountMonitor.LATE_STORE));
    }

    @Test
    void shouldServeTheCurrentWindowsOfARunAndTheFailureCountsAsJson() throws Exception {
        Thresholds tumbling = Thresholds.builder().optLossWindowSize(Duration.ofSeconds(10))
                .optLossWindowAdvance(Duration.ofSeconds(10)).optLossWindowGrace(Duration.ZERO).build();
        try (MonitorHarness h = new MonitorHarness(tumbling, stateDir);
             MonitorHttpServer http = MonitorHttpServer.start("127.0.0.1", 0, queries(h))) {
            h.pipe(step("run/1", "t-1", 1, 1_000, 0.5, 1.0, 1.5));
            h.pipe(step("run/1", "t-1", 2, 12_000, 0.5, 0.25, 0.75));
            h.pipe(step("run-2", "t-1", 1, 1_000, 0.5, 0.5, 1.0));
            h.pipe(failure("teacher-service", FailureKind.SHAPE, 1_000));
            h.pipe(failure("teacher-service", FailureKind.SHAPE, 2_000));

            HttpResponse<String> run = get(http.port(), "/monitors/loss-ratio/run%2F1");
            assertThat(run.statusCode()).isEqualTo(200);
            assertThat(run.headers().firstValue("Content-Type")).hasValue("application/json");
            JsonNode body = json.readTree(run.body());
            assertThat(body.get("runId").asText()).isEqualTo("run/1");
            assertThat(body.get("windows")).hasSize(2);
            assertThat(body.get("windows").get(0).get("windowStartMs").asLong()).isZero();
            assertThat(body.get("windows").get(0).get("lossRatio").asDouble()).isEqualTo(2.0);
            assertThat(body.get("windows").get(1).get("lossRatio").asDouble()).isEqualTo(0.5);
            assertThat(body.get("trainers")).hasSize(1);
            assertThat(body.get("trainers").get(0).get("lossRatioEwma").asDouble()).isEqualTo(2.0);

            HttpResponse<String> failures = get(http.port(), "/monitors/failures");
            assertThat(failures.statusCode()).isEqualTo(200);
            JsonNode windows = json.readTree(failures.body()).get("windows");
            assertThat(windows).hasSize(1);
            assertThat(windows.get(0).get("component").asText()).isEqualTo("teacher-service");
            assertThat(windows.get(0).get("failureKind").asText()).isEqualTo("SHAPE");
            assertThat(windows.get(0).get("count").asLong()).isEqualTo(2);

            assertThat(get(http.port(), "/monitors/loss-ratio/unknown-run").statusCode()).isEqualTo(404);
            assertThat(get(http.port(), "/monitors/nothing").statusCode()).isEqualTo(404);
            HttpResponse<String> post = client.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + http.port() + "/monitors/failures"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(post.statusCode()).isEqualTo(405);
        }
    }
}
