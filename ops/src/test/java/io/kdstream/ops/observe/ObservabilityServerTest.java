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

        assertThat(server.address().getAddress().isLoopbackAddress()).as("bound to %s", server.address()).isTrue();
        assertThat(server.address().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
        assertThat(server.port()).isPositive();
        assertThatThrownBy(() -> ObservabilityServer.builder().setObservability(observability).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("setPort");
    }

    @Test
    void shouldBindTheWildcardAddressOnlyWhenAskedTo() {
        observability = Observability.forService("test-service");
        server = ObservabilityServer.builder().setObservability(observability).setPort(0).optHost("0.0.0.0").build()
                .start();

        assertThat(server.address().getAddress().isAnyLocalAddress()).as("bound to %s", server.address()).isTrue();
    }

    @Test
    void shouldReportNotLiveWhileALivenessCheckIsDown() throws Exception {
        observability = Observability.forService("test-service");
        AtomicBoolean healthy = new AtomicBoolean(false);
        server = ObservabilityServer.builder().setObservability(observability).setPort(0)
                .addLivenessCheck(new HealthCheck("streams", healthy::get)).build().start();

        HttpResponse<String> dead = get("/health/live");
        HttpResponse<String> health = get("/health");
        healthy.set(true);
        HttpResponse<String> alive = get("/health/live");

        assertThat(dead.statusCode()).isEqualTo(503);
        assertThat(dead.body()).contains("\"streams\":\"DOWN\"");
        assertThat(health.statusCode()).isEqualTo(503);
        assertThat(health.body()).contains("\"live\":\"DOWN\"").contains("\"ready\":\"UP\"");
        assertThat(alive.statusCode()).isEqualTo(200);
    }

    @Test
    void shouldExposeTeacherCountersBatchFillAndLatencyAsAHistogramInSeconds() throws Exception {
        start();
        TeacherMetrics metrics = new TeacherMetrics();
        new TeacherMeters(metrics).bindTo(observability.registry());

        metrics.recordCommit(10, 8, Map.of(FailureKind.SHAPE, 2), new int[] {10}, new double[] {0.5},
                new long[] {1_000_000L, 3_000_000L});
        metrics.recordAbort();

        String body = get("/metrics").body();
        assertThat(body).containsPattern("kdstream_teacher_inputs_total\\{[^}]*\\} 10(\\.0)?\\n")
                .containsPattern("kdstream_teacher_dead_letters_total\\{kind=\"SHAPE\"[^}]*\\} 2(\\.0)?\\n")
                .containsPattern("kdstream_teacher_transactions_aborted_total\\{[^}]*\\} 1(\\.0)?\\n")
                .containsPattern("kdstream_teacher_batch_fill_percent_count\\{[^}]*\\} 1\\n")
                .containsPattern("kdstream_teacher_batch_fill_percent_sum\\{[^}]*\\} 50\\.0\\n")
                .containsPattern("kdstream_teacher_batch_fill_percent_bucket\\{[^}]*le=\"50\\.0\"[^}]*\\} 1\\n")
                .containsPattern("kdstream_teacher_batch_fill_percent_bucket\\{[^}]*le=\"25\\.0\"[^}]*\\} 0\\n")
                .containsPattern("kdstream_teacher_latency_seconds_count\\{[^}]*\\} 2\\n")
                .containsPattern("kdstream_teacher_latency_seconds_sum\\{[^}]*\\} 0\\.004\\n")
                .containsPattern("kdstream_teacher_latency_seconds_bucket\\{[^}]*le=\"\\+Inf\"\\} 2\\n")
                .contains("# TYPE kdstream_teacher_latency_seconds histogram")
                .doesNotContain("quantile=");
    }

    private static TrainingStep step(String run, long i, double total) {
        return TrainingStep.newBuilder().setRunId(run).setTrainerId("kd-0").setGroup("g").setStep(i).setEpoch(0)
                .setTimestampMs(Instant.EPOCH).setTaskLoss(1).setKdLoss(0.5).setFeatureLoss(0)
                .setTotalLoss(total).setTemperature(4).setAlpha(0.7).setLearningRate(1e-3)
                .setSamples(64).setFailures(0).setStepLatencyMs(10).build();
    }

    @Test
    void shouldTimeTrainerStepsFromPublishedTrainingStepsAsAHistogramInSeconds() throws Exception {
        start();
        TrainingStepMeters meters = new TrainingStepMeters(observability.registry());

        for (int i = 1; i <= 4; i++) {
            meters.record(step("r", i, i == 4 ? Double.NaN : 0.8));
        }

        String body = get("/metrics").body();
        assertThat(body).containsPattern("kdstream_trainer_step_seconds_count\\{[^}]*run=\"r\"[^}]*trainer=\"kd-0\"[^}]*\\} 4\\n")
                .containsPattern("kdstream_trainer_step_seconds_sum\\{[^}]*\\} 0\\.04\\n")
                .contains("# TYPE kdstream_trainer_step_seconds histogram")
                .containsPattern("kdstream_trainer_samples_total\\{[^}]*\\} 256(\\.0)?\\n")
                .containsPattern("kdstream_trainer_steps_non_finite_total\\{[^}]*\\} 1(\\.0)?\\n")
                .containsPattern("kdstream_trainer_loss\\{[^}]*term=\"kd\"[^}]*\\} 0\\.5\\n")
                .containsPattern("kdstream_trainer_last_step\\{[^}]*\\} 4(\\.0)?\\n");
    }

    @Test
    void shouldRemoveARunsSeriesWhenTheRunEnds() throws Exception {
        start();
        TrainingStepMeters meters = new TrainingStepMeters(observability.registry());
        meters.record(step("run-a", 1, 0.8));
        meters.record(step("run-b", 1, 0.8));

        meters.endRun("run-a");

        String body = get("/metrics").body();
        assertThat(body).doesNotContain("run=\"run-a\"").contains("run=\"run-b\"");
        assertThat(meters.runs()).containsExactly("run-b");
        meters.close();
        assertThat(get("/metrics").body()).doesNotContain("kdstream_trainer_");
    }

    @Test
    void shouldRecordAStepWithoutAllocatingOnceTheRunsMetersExist() {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        observability = Observability.forService("test-service");
        TrainingStepMeters meters = new TrainingStepMeters(observability.registry());
        TrainingStep s = step("r", 1, 0.8);
        for (int i = 0; i < 20_000; i++) {
            meters.record(s);
        }
        int n = 100_000;

        long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < n; i++) {
            meters.record(s);
        }
        long perStep = (threads.getCurrentThreadAllocatedBytes() - before) / n;

        // a key object or a string concatenation per step would be 24+ bytes; the measurement itself allocates a little
        assertThat(perStep).as("bytes allocated per recorded step").isLessThan(8);
    }
}
