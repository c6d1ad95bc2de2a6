package io.kdstream.it;

import io.kdstream.avro.Alert;
import io.kdstream.avro.AlertState;
import io.kdstream.avro.AlertType;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.MonitorEvent;
import io.kdstream.avro.MonitorKind;
import io.kdstream.avro.TrainingStep;
import io.kdstream.it.support.KafkaTestCluster;
import io.kdstream.schemas.registry.MockSchemaRegistry;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.streams.MonitorApp;
import io.kdstream.streams.MonitorConfig;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/** The monitor application on a real broker: trainer metrics and dead letters in, alerts and windows out. */
class MonitorsIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(90);
    private static final long WINDOW_MS = 10_000;

    private static KafkaTestCluster kafka;

    @TempDir
    Path stateDir;

    @BeforeAll
    static void startKafka() {
        kafka = KafkaTestCluster.start();
    }

    @AfterAll
    static void stopKafka() throws Exception {
        if (kafka != null) {
            kafka.close();
        }
    }

    private static TrainingStep step(String trainer, long step, long timeMs, double task, double kd) {
        return TrainingStep.newBuilder()
                .setRunId("run-it").setTrainerId(trainer).setGroup("g").setStep(step).setEpoch(0)
                .setTimestampMs(Instant.ofEpochMilli(timeMs))
                .setTaskLoss(task).setKdLoss(kd).setFeatureLoss(0.0).setTotalLoss(task + kd)
                .setTemperature(4.0).setAlpha(0.5).setLearningRate(0.01).setSamples(32).setFailures(0)
                .setStepLatencyMs(3.0)
                .build();
    }

    private static FailureEvent failure(long timeMs) {
        return FailureEvent.newBuilder()
                .setComponent("teacher-service").setKind(FailureKind.NON_FINITE).setMessage("NaN logits")
                .setTimestampMs(Instant.ofEpochMilli(timeMs))
                .build();
    }

    @Test
    void shouldTurnTrainerMetricsAndDeadLettersIntoAlertsAndAnswerQueries() throws Exception {
        String scope = "monitors-it-" + UUID.randomUUID();
        String registry = "mock://" + scope;
        Map<String, Object> serdeConfig = Map.of(MonitorConfig.SCHEMA_REGISTRY_URL_CONFIG, registry);
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        String metrics = "kd.metrics-" + suffix;
        String dlq = "kd.dlq-" + suffix;
        String monitors = "kd.monitors-" + suffix;
        String alerts = "kd.alerts-" + suffix;
        try (Admin admin = kafka.admin()) {
            admin.createTopics(List.of(new NewTopic(metrics, 1, (short) 1), new NewTopic(dlq, 1, (short) 1),
                    new NewTopic(monitors, 1, (short) 1), new NewTopic(alerts, 1, (short) 1))).all().get();
        }

        // Given the monitor running with 10 s tumbling windows, band [0.5, 4], M = 2, 3 failures per window
        Map<String, Object> settings = new HashMap<>();
        settings.put(MonitorConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        settings.put(MonitorConfig.SCHEMA_REGISTRY_URL_CONFIG, registry);
        settings.put(MonitorConfig.APPLICATION_ID_CONFIG, "monitor-it-" + suffix);
        settings.put(MonitorConfig.TOPIC_METRICS_CONFIG, metrics);
        settings.put(MonitorConfig.TOPIC_DLQ_CONFIG, dlq);
        settings.put(MonitorConfig.TOPIC_MONITORS_CONFIG, monitors);
        settings.put(MonitorConfig.TOPIC_ALERTS_CONFIG, alerts);
        settings.put(MonitorConfig.LOSS_WINDOW_SIZE_MS_CONFIG, WINDOW_MS);
        settings.put(MonitorConfig.LOSS_WINDOW_ADVANCE_MS_CONFIG, WINDOW_MS);
        settings.put(MonitorConfig.LOSS_WINDOW_GRACE_MS_CONFIG, 0L);
        settings.put(MonitorConfig.LOSS_RATIO_BAND_LOW_CONFIG, 0.5);
        settings.put(MonitorConfig.LOSS_RATIO_BAND_HIGH_CONFIG, 4.0);
        settings.put(MonitorConfig.LOSS_RATIO_CONSECUTIVE_WINDOWS_CONFIG, 2);
        settings.put(MonitorConfig.FAILURE_WINDOW_MS_CONFIG, 60_000L);
        // the monitor's own dead letters carry wall-clock time: a grace period keeps the test's failures in their window
        settings.put(MonitorConfig.FAILURE_GRACE_MS_CONFIG, 30_000L);
        settings.put(MonitorConfig.FAILURE_THRESHOLD_CONFIG, 3L);
        settings.put(MonitorConfig.STALENESS_THRESHOLD_MS_CONFIG, 3_000L);
        settings.put(MonitorConfig.STALENESS_CHECK_INTERVAL_MS_CONFIG, 500L);
        settings.put(MonitorConfig.HTTP_PORT_CONFIG, 0);
        settings.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        settings.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        settings.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        MonitorConfig config = new MonitorConfig(settings);
        assertThat(config.streamsProperties())
                .containsEntry(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);

        try (MonitorApp app = MonitorApp.start(config)) {
            awaitRunning(app.streams());

            // When a trainer reports KD drowning the task loss for three windows, one NaN step and a poison record,
            // and the teacher dead-letters three records
            Map<String, Object> producerProps = new HashMap<>(kafka.clientProperties());
            producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
            byte[] poison = "not a training step".getBytes(StandardCharsets.UTF_8);
            try (KafkaProducer<String, TrainingStep> steps = new KafkaProducer<>(producerProps,
                         new StringSerializer(), KdAvroSerdes.value(TrainingStep.class, serdeConfig).serializer());
                 KafkaProducer<String, FailureEvent> failures = new KafkaProducer<>(producerProps,
                         new StringSerializer(), KdAvroSerdes.value(FailureEvent.class, serdeConfig).serializer());
                 KafkaProducer<String, byte[]> raw = new KafkaProducer<>(producerProps, new StringSerializer(),
                         new ByteArraySerializer())) {
                long n = 0;
                for (int window = 0; window < 3; window++) {
                    for (int i = 0; i < 4; i++) {
                        long t = window * WINDOW_MS + 1_000 + i * 1_000L;
                        steps.send(new ProducerRecord<>(metrics, null, t, "t-1", step("t-1", ++n, t, 0.25, 2.0)));
                    }
                }
                steps.send(new ProducerRecord<>(metrics, null, 35_000L, "t-1",
                        step("t-1", ++n, 35_000, Double.NaN, 2.0)));
                raw.send(new ProducerRecord<>(metrics, "t-1", poison));
                steps.send(new ProducerRecord<>(metrics, null, 45_000L, "t-1", step("t-1", ++n, 45_000, 0.5, 0.5)));
                long now = System.currentTimeMillis();
                for (int i = 0; i < 3; i++) {
                    failures.send(new ProducerRecord<>(dlq, null, now + i, "teacher-service", failure(now + i)));
                }
                steps.flush();
                failures.flush();
                raw.flush();
            }

            // Then alerts come out: the band breach once, the NaN, the failure threshold, and the silent trainer
            List<Alert> received = consumeUntil(alerts, KdAvroSerdes.value(Alert.class, serdeConfig).deserializer(),
                    list -> list.stream().anyMatch(a -> a.getType() == AlertType.TRAINER_STALE)
                            && list.stream().anyMatch(a -> a.getType() == AlertType.FAILURE_THRESHOLD)
                            && list.stream().anyMatch(a -> a.getType() == AlertType.LOSS_RATIO_ABOVE_BAND)
                            && list.stream().anyMatch(a -> a.getType() == AlertType.NON_FINITE_LOSS));
            assertThat(received).filteredOn(a -> a.getType() == AlertType.LOSS_RATIO_ABOVE_BAND
                            && a.getState() == AlertState.FIRING)
                    .singleElement()
                    .satisfies(a -> {
                        assertThat(a.getObservedValue()).isEqualTo(8.0);
                        assertThat(a.getWindowStartMs()).isEqualTo(Instant.ofEpochMilli(WINDOW_MS));
                    });
            assertThat(received).filteredOn(a -> a.getType() == AlertType.FAILURE_THRESHOLD).singleElement()
                    .satisfies(a -> assertThat(a.getComponent()).isEqualTo("teacher-service"));
            assertThat(received).filteredOn(a -> a.getType() == AlertType.TRAINER_STALE).singleElement()
                    .satisfies(a -> assertThat(a.getTrainerId()).isEqualTo("t-1"));

            // And the closed windows are published, with exact ratios
            List<MonitorEvent> events = consumeUntil(monitors,
                    KdAvroSerdes.value(MonitorEvent.class, serdeConfig).deserializer(),
                    list -> list.stream().filter(e -> e.getMonitor() == MonitorKind.LOSS_RATIO).count() >= 4);
            assertThat(events).filteredOn(e -> e.getMonitor() == MonitorKind.LOSS_RATIO)
                    .extracting(MonitorEvent::getLossRatio)
                    .startsWith(8.0, 8.0, 8.0);

            // And the poison record was dead-lettered by the monitor, with its original bytes
            List<FailureEvent> dead = consumeUntil(dlq,
                    KdAvroSerdes.value(FailureEvent.class, serdeConfig).deserializer(),
                    list -> list.stream().anyMatch(f -> f.getComponent().equals("monitor")));
            assertThat(dead).filteredOn(f -> f.getComponent().equals("monitor")).singleElement()
                    .satisfies(f -> {
                        assertThat(f.getOriginalValue()).isEqualTo(ByteBuffer.wrap(poison));
                        assertThat(f.getSource().getTopic()).isEqualTo(metrics);
                    });
            assertThat(app.streams().state()).isEqualTo(KafkaStreams.State.RUNNING);

            // And the HTTP endpoint answers with the run's windows and the failure counts
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> run = http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + app.httpPort() + "/monitors/loss-ratio/run-it")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(run.statusCode()).isEqualTo(200);
            assertThat(run.body()).contains("\"runId\":\"run-it\"").contains("\"trainerId\":\"t-1\"");
            HttpResponse<String> failures = http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + app.httpPort() + "/monitors/failures")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(failures.statusCode()).isEqualTo(200);
            assertThat(failures.body())
                    .contains("{\"component\":\"teacher-service\",\"failureKind\":\"NON_FINITE\"")
                    .contains("\"count\":3}");
        } finally {
            MockSchemaRegistry.dropScope(scope);
        }
    }

    private static void awaitRunning(KafkaStreams streams) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (streams.state() != KafkaStreams.State.RUNNING) {
            assertThat(System.nanoTime()).as("monitor reaches RUNNING, now " + streams.state()).isLessThan(deadline);
            assertThat(streams.state()).isNotIn(KafkaStreams.State.ERROR, KafkaStreams.State.NOT_RUNNING);
            Thread.sleep(100);
        }
    }

    private static <T> List<T> consumeUntil(String topic, Deserializer<T> deserializer, Predicate<List<T>> done) {
        Map<String, Object> props = new HashMap<>(kafka.clientProperties());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "monitors-it-reader-" + UUID.randomUUID());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<T> values = new ArrayList<>();
        try (KafkaConsumer<String, T> consumer = new KafkaConsumer<>(props, new StringDeserializer(),
                deserializer)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (!done.test(values)) {
                assertThat(System.nanoTime()).as("records on " + topic + " so far: " + values).isLessThan(deadline);
                for (ConsumerRecord<String, T> record : consumer.poll(Duration.ofMillis(200))) {
                    values.add(record.value());
                }
            }
        }
        return values;
    }
}
