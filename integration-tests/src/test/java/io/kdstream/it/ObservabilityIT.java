package io.kdstream.it;

import io.kdstream.avro.InputRecord;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.it.support.ChildJvm;
import io.kdstream.it.support.ConfirmedSends;
import io.kdstream.it.support.KafkaTestCluster;
import io.kdstream.it.support.TeacherProps;
import io.kdstream.it.support.TestRegistry;
import io.kdstream.it.support.TopicProps;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.ops.cli.KdstreamCli;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.teacher.Teacher;
import io.kdstream.trainer.TrainerConfig;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.Writer;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The long-running commands, each in a process of its own against a real broker, serve /metrics and the health
 * endpoints on the port {@code --metrics-port 0} picked and printed: the teacher-service's counters, latency
 * histogram and Kafka client metrics once it has served inputs; the monitors' Kafka Streams metrics and readiness;
 * the trainer's step histogram under its host name.
 */
class ObservabilityIT {

    private static final Pattern LISTENING = Pattern.compile("metrics:\\s+http://([0-9.]+):(\\d+)/metrics");
    private static final Duration STARTUP = Duration.ofSeconds(180);

    private static KafkaTestCluster kafka;
    private static TestRegistry registry;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void start() {
        kafka = KafkaTestCluster.start();
        registry = TestRegistry.start(kafka.bootstrapServers());
    }

    @AfterAll
    static void stop() {
        if (registry != null) {
            registry.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    private static Map<String, Object> props(String prefix) throws Exception {
        Map<String, Object> p = new HashMap<>();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("schema.registry.url", registry.url());
        TopicProps.prefixed(p, prefix);
        p.put(KdConfig.TOPICS_PARTITIONS_CONFIG, "2");
        KdConfig config = new KdConfig(p);
        try (TopicAdmin admin = new TopicAdmin(KafkaClients.admin(config), Duration.ofSeconds(30), true)) {
            admin.ensureTopics(TopicAdmin.catalog(config));
        }
        return p;
    }

    private static Path write(Map<String, Object> props, Path file) throws IOException {
        Properties p = new Properties();
        props.forEach((k, v) -> p.setProperty(k, String.valueOf(v)));
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            p.store(w, "observability test");
        }
        return file;
    }

    private static Process launch(List<String> args, Path log) throws IOException {
        List<String> options = new ArrayList<>(ChildJvm.ENGINE);
        options.add("-Xmx768m");
        return ChildJvm.start(options, KdstreamCli.class, args, log);
    }

    private static void stopGracefully(Process p) throws InterruptedException {
        p.destroy();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** The address and port the process printed for its metrics server. */
    private static URI awaitListening(Process process, Path log) throws Exception {
        long deadline = System.nanoTime() + STARTUP.toNanos();
        while (System.nanoTime() < deadline) {
            Matcher m = LISTENING.matcher(Files.exists(log) ? Files.readString(log) : "");
            if (m.find()) {
                return URI.create("http://" + m.group(1) + ":" + m.group(2));
            }
            assertThat(process.isAlive()).as("process alive; its log:%n%s", Files.readString(log)).isTrue();
            Thread.sleep(200);
        }
        throw new AssertionError("no metrics address printed in " + STARTUP + "; log:\n" + Files.readString(log));
    }

    private HttpResponse<String> get(URI base, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Polls {@code path} until its answer satisfies {@code done}; returns that answer. */
    private HttpResponse<String> await(URI base, String path, Predicate<HttpResponse<String>> done, Process process,
                                       Path log) throws Exception {
        long deadline = System.nanoTime() + STARTUP.toNanos();
        HttpResponse<String> last = null;
        while (System.nanoTime() < deadline) {
            last = get(base, path);
            if (done.test(last)) {
                return last;
            }
            assertThat(process.isAlive()).as("process alive; its log:%n%s", Files.readString(log)).isTrue();
            Thread.sleep(500);
        }
        throw new AssertionError("GET " + path + " never satisfied the condition; last answer "
                + (last == null ? "none" : last.statusCode() + " " + last.body().lines().limit(40).toList()));
    }

    private static double value(String scrape, String seriesPattern) {
        Matcher m = Pattern.compile("(?m)^" + seriesPattern + " ([0-9.Ee+-]+)$").matcher(scrape);
        return m.find() ? Double.parseDouble(m.group(1)) : -1;
    }

    @Test
    void shouldServeTheTeacherServicesCountersLatencyHistogramAndClientMetricsFromTeacherServe(@TempDir Path dir)
            throws Exception {
        // Given 200 inputs and a saved teacher
        Map<String, Object> props = props("obs-t");
        KdConfig config = new KdConfig(props);
        int inputs = 200;
        produceInputs(config, inputs);
        try (Teacher teacher = FuzzedInputIT.randomTeacher(dir.resolve("model"))) {
            assertThat(teacher.info().sha256()).isNotBlank();
        }
        Path file = write(TeacherProps.smallTransactions(props, "obs-t"), dir.resolve("teacher.properties"));

        // When 'teacher serve --metrics-port 0' serves them
        Path log = dir.resolve("teacher.log");
        Process process = launch(List.of("teacher", "serve", "--config", file.toString(), "--model",
                dir.resolve("model").toString(), "--store", dir.resolve("store").toString(), "--metrics-port", "0"), log);
        try {
            URI base = awaitListening(process, log);

            // Then it listens on loopback, is ready, and its scrape counts every input with a latency in seconds
            assertThat(InetAddress.getByName(base.getHost()).isLoopbackAddress()).isTrue();
            await(base, "/health/ready", r -> r.statusCode() == 200, process, log);
            String scrape = await(base, "/metrics", r -> value(r.body(),
                    "kdstream_teacher_inputs_total\\{service=\"teacher-service\"\\}") >= inputs, process, log).body();
            assertThat(value(scrape, "kdstream_teacher_latency_seconds_count\\{service=\"teacher-service\"\\}"))
                    .isEqualTo(inputs);
            assertThat(value(scrape, "kdstream_teacher_latency_seconds_sum\\{service=\"teacher-service\"\\}")).isPositive();
            assertThat(value(scrape, "kdstream_teacher_batch_fill_percent_count\\{service=\"teacher-service\"\\}"))
                    .isPositive();
            assertThat(scrape).contains("# TYPE kdstream_teacher_latency_seconds histogram")
                    .containsPattern("kafka_consumer_fetch_manager_records_lag_max\\{[^}]*service=\"teacher-service\"")
                    .containsPattern("kafka_producer_record_send_rate\\{[^}]*service=\"teacher-service\"")
                    .contains("jvm_memory_used_bytes").doesNotContain("quantile=");
            HttpResponse<String> live = get(base, "/health/live");
            assertThat(live.statusCode()).isEqualTo(200);
            assertThat(live.body()).contains("\"workers\":\"UP\"");
        } finally {
            stopGracefully(process);
        }
    }

    @Test
    void shouldServeTheMonitorsKafkaStreamsMetricsAndReadinessFromMonitor(@TempDir Path dir) throws Exception {
        // Given the topics of the monitors
        Path file = write(props("obs-m"), dir.resolve("monitor.properties"));

        // When 'monitor --metrics-port 0' runs
        Path log = dir.resolve("monitor.log");
        Process process = launch(List.of("monitor", "--config", file.toString(), "--application-id", "obs-monitor",
                "--http-port", "0", "--state-dir", dir.resolve("state").toString(), "--metrics-port", "0"), log);
        try {
            URI base = awaitListening(process, log);

            // Then it becomes ready once Kafka Streams runs, and exports its Kafka Streams metrics
            HttpResponse<String> ready = await(base, "/health/ready", r -> r.statusCode() == 200, process, log);
            assertThat(ready.body()).contains("\"streams\":\"UP\"");
            assertThat(get(base, "/health/live").statusCode()).isEqualTo(200);
            assertThat(get(base, "/metrics").body())
                    .containsPattern("kafka_stream_thread_process_rate\\{[^}]*service=\"monitor\"");
        } finally {
            stopGracefully(process);
        }
    }

    @Test
    void shouldServeTheTrainersStepHistogramUnderItsHostNameFromTrain(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isDirectory(FashionMnist.DEFAULT_DIR), "Fashion-MNIST is not installed");
        // Given 600 teacher outputs
        Map<String, Object> props = TrainerIT.Fixtures.props(kafka, registry, "obs-s", dir);
        TrainerIT.Fixtures.createTopics(props);
        TrainerIT.Fixtures.produce(props, 0, 600, TrainerIT.Fixtures::valid);
        props.put(TrainerConfig.EVAL_INTERVAL_CONFIG, "0");
        props.put(TrainerConfig.EPOCHS_CONFIG, "1");
        Path file = write(props, dir.resolve("trainer.properties"));

        // When an online run ('train --follow --metrics-port 0') trains on them
        Path log = dir.resolve("trainer.log");
        Process process = launch(List.of("train", "--config", file.toString(), "--follow", "--metrics-port", "0"), log);
        try {
            URI base = awaitListening(process, log);

            // Then its scrape has the step histogram and samples of this run, labelled with the host name
            String host = System.getenv("HOSTNAME") != null && !System.getenv("HOSTNAME").isBlank()
                    ? System.getenv("HOSTNAME").trim() : InetAddress.getLocalHost().getHostName();
            String series = "\\{[^}]*trainer=\"" + Pattern.quote(host) + "\"[^}]*\\}";
            String scrape = await(base, "/metrics",
                    r -> value(r.body(), "kdstream_trainer_samples_total" + series) >= 600, process, log).body();
            assertThat(value(scrape, "kdstream_trainer_step_seconds_count" + series)).isGreaterThanOrEqualTo(600 / 32);
            assertThat(scrape).contains("# TYPE kdstream_trainer_step_seconds histogram")
                    .containsPattern("kdstream_trainer_loss\\{[^}]*term=\"kd\"").doesNotContain("quantile=");
            assertThat(get(base, "/health/ready").statusCode()).isEqualTo(200);
        } finally {
            stopGracefully(process);
        }
        // stopped by SIGTERM through its shutdown hook (143), not killed
        assertThat(process.exitValue()).as("exit code after SIGTERM; log:%n%s", Files.readString(log)).isIn(0, 143);
    }

    private static void produceInputs(KdConfig config, int n) throws InterruptedException {
        Serializer<InputRecord> serializer = KdAvroSerdes.value(InputRecord.class, config.serdeProperties()).serializer();
        String topic = config.topics().inputs();
        Random rng = new Random(20261203);
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String id = String.format("obs-%04d", i);
            byte[] px = new byte[28 * 28];
            rng.nextBytes(px);
            InputRecord r = InputRecord.newBuilder().setId(id).setSource("obs").setInput(TensorCodec.fromUint8(px, 1, 28, 28))
                    .setLabel(i % 10).setTimestampMs(Instant.EPOCH).setAttributes(Map.of()).build();
            records.add(new ProducerRecord<>(topic, id.getBytes(StandardCharsets.UTF_8), serializer.serialize(topic, r)));
        }
        ConfirmedSends.sendAll(config, "obs-ingest", records);
    }
}
