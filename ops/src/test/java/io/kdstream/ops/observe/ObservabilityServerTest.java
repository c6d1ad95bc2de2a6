package io.kdstream.ops.observe;

import io.kdstream.avro.FailureKind;
import io.kdstream.avro.TrainingStep;
import io.kdstream.teacher.serve.TeacherMetrics;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ObservabilityServerTest {

    private final HttpClient http = HttpClient.newHttpClient();
    private Observability observability;
    private ObservabilityServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        if (observability != null) {
            observability.close();
        }
    }

    private ObservabilityServer start(HealthCheck... checks) {
        observability = Observability.forService("test-service");
        ObservabilityServer.Builder b = ObservabilityServer.builder().setObservability(observability).setPort(0);
        for (HealthCheck c : checks) {
            b.addCheck(c);
        }
        server = b.build().start();
        return server;
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void shouldServePrometheusTextWithJvmMetricsAndTheServiceTag() throws Exception {
        start();

        HttpResponse<String> r = get("/metrics");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue(ObservabilityServer.PROMETHEUS_CONTENT_TYPE);
        assertThat(r.body()).contains("jvm_memory_used_bytes").contains("service=\"test-service\"");
    }

    @Test
    void shouldReportNotReadyWhileACheckIsDownAndReadyOnceItIsUp() throws Exception {
        AtomicBoolean running = new AtomicBoolean(false);
        start(new HealthCheck("workers", running::get), new HealthCheck("always", () -> true));

        HttpResponse<String> down = get("/health/ready");
        running.set(true);
        HttpResponse<String> up = get("/health/ready");

        assertThat(down.statusCode()).isEqualTo(503);
        assertThat(down.body()).contains("\"status\":\"DOWN\"").contains("\"workers\":\"DOWN\"").contains("\"always\":\"UP\"");
        assertThat(up.statusCode()).isEqualTo(200);
        assertThat(up.body()).contains("\"status\":\"UP\"");
    }

    @Test
    void shouldStayLiveWhenNotReadyAndCountAThrowingCheckAsDown() throws Exception {
        start(new HealthCheck("broken", () -> {
            throw new IllegalStateException("boom");
        }));

        assertThat(get("/health/live").statusCode()).isEqualTo(200);
        HttpResponse<String> health = get("/health");
        assertThat(health.statusCode()).isEqualTo(503);
        assertThat(health.body()).contains("\"live\":\"UP\"").contains("\"ready\":\"DOWN\"");
    }

    @Test
    void shouldRefuseOtherMethodsAndUnknownPaths() throws Exception {
        start();

        HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port()
                + "/metrics")).POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());

        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(get("/health/unknown").statusCode()).isEqualTo(404);
    }

    @Test
    void shouldBindTheLoopbackAddressByDefault() {
        start();

        assertThat(server.port()).isPositive();
        assertThatThrownBy(() -> ObservabilityServer.builder().setObservability(observability).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("setPort");
    }

    @Test
    void shouldExposeTeacherCountersAndLatencyQuantiles() throws Exception {
        start();
        TeacherMetrics metrics = new TeacherMetrics();
        new TeacherMeters(metrics).bindTo(observability.registry());

        metrics.recordCommit(10, 8, Map.of(FailureKind.SHAPE, 2), new int[] {10}, new double[] {0.5},
                new long[] {1_000_000L, 3_000_000L});

        String body = get("/metrics").body();
        assertThat(body).containsPattern("kdstream_teacher_inputs_total\\{[^}]*\\} 10(\\.0)?\\n")
                .containsPattern("kdstream_teacher_dead_letters_total\\{kind=\"SHAPE\"[^}]*\\} 2(\\.0)?\\n")
                .containsPattern("kdstream_teacher_batch_fill\\{[^}]*\\} 0\\.5\\n")
                .contains("kdstream_teacher_latency_ms{quantile=\"0.99\"");
    }

    @Test
    void shouldTimeTrainerStepsFromPublishedTrainingSteps() throws Exception {
        start();
        TrainingStepMeters meters = new TrainingStepMeters(observability.registry());

        for (int i = 1; i <= 4; i++) {
            meters.record(TrainingStep.newBuilder().setRunId("r").setTrainerId("kd-0").setGroup("g").setStep(i).setEpoch(0)
                    .setTimestampMs(Instant.EPOCH).setTaskLoss(1).setKdLoss(0.5).setFeatureLoss(0)
                    .setTotalLoss(i == 4 ? Double.NaN : 0.8).setTemperature(4).setAlpha(0.7).setLearningRate(1e-3)
                    .setSamples(64).setFailures(0).setStepLatencyMs(10).build());
        }

        String body = get("/metrics").body();
        assertThat(body).containsPattern("kdstream_trainer_step_seconds_count\\{[^}]*trainer=\"kd-0\"[^}]*\\} 4\\n")
                .containsPattern("kdstream_trainer_samples_total\\{[^}]*\\} 256(\\.0)?\\n")
                .containsPattern("kdstream_trainer_steps_non_finite_total\\{[^}]*\\} 1(\\.0)?\\n")
                .containsPattern("kdstream_trainer_loss\\{[^}]*term=\"kd\"[^}]*\\} 0\\.5\\n");
    }
}
