package io.kdstream.it;

import io.kdstream.avro.Alert;
import io.kdstream.avro.AlertState;
import io.kdstream.avro.AlertType;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.MonitorEvent;
import io.kdstream.avro.MonitorKind;
import io.kdstream.avro.RunManifest;
import io.kdstream.avro.RunStatus;
import io.kdstream.avro.TrainingStep;
import io.kdstream.core.kafka.NewTopicReadiness;
import io.kdstream.it.support.KafkaTestCluster;
import io.kdstream.it.support.TopicReads;
import io.kdstream.schemas.registry.MockSchemaRegistry;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.streams.MonitorApp;
import io.kdstream.streams.MonitorConfig;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.assertj.core.groups.Tuple;
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
    /** How long a topic must stay quiet, at its end, before a read of it is complete. */
    private static final Duration SETTLE = Duration.ofSeconds(4);

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
        return step("run-it", trainer, step, timeMs, task, kd);
    }

    private static TrainingStep step(String run, String trainer, long step, long timeMs, double task, double kd) {
        return TrainingStep.newBuilder()
                .setRunId(run).setTrainerId(trainer).setGroup("g").setStep(step).setEpoch(0)
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
        String runs = "kd.runs-" + suffix;
        createTopics(metrics, dlq, monitors, alerts, runs);

        // Given the monitor running with 10 s tumbling windows, band [0.5, 4], M = 2, 3 failures per window
        Map<String, Object> settings = new HashMap<>();
        settings.put(MonitorConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        settings.put(MonitorConfig.SCHEMA_REGISTRY_URL_CONFIG, registry);
        settings.put(MonitorConfig.APPLICATION_ID_CONFIG, "monitor-it-" + suffix);
        settings.put(MonitorConfig.TOPIC_METRICS_CONFIG, metrics);
        settings.put(MonitorConfig.TOPIC_DLQ_CONFIG, dlq);
        settings.put(MonitorConfig.TOPIC_MONITORS_CONFIG, monitors);
        settings.put(MonitorConfig.TOPIC_ALERTS_CONFIG, alerts);
        settings.put(MonitorConfig.TOPIC_RUNS_CONFIG, runs);
        settings.put(MonitorConfig.WINDOW_CHECK_INTERVAL_MS_CONFIG, 500L);
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

            // Then alerts come out: the band breach, the NaN, the failure threshold and the silent trainer, each
            // exactly once (the topic is read to its end and for a settle period after the last expected alert)
            List<Alert> received = readToEnd(alerts, KdAvroSerdes.value(Alert.class, serdeConfig).deserializer(),
                    list -> list.stream().anyMatch(a -> a.getType() == AlertType.TRAINER_STALE)
                            && list.stream().anyMatch(a -> a.getType() == AlertType.FAILURE_THRESHOLD)
                            && list.stream().anyMatch(a -> a.getType() == AlertType.LOSS_RATIO_ABOVE_BAND)
                            && list.stream().anyMatch(a -> a.getType() == AlertType.NON_FINITE_LOSS));
            assertThat(received).extracting(Alert::getType, Alert::getState).containsExactlyInAnyOrder(
                    Tuple.tuple(AlertType.LOSS_RATIO_ABOVE_BAND, AlertState.FIRING),
                    Tuple.tuple(AlertType.LOSS_RATIO_ABOVE_BAND, AlertState.RESOLVED),
                    Tuple.tuple(AlertType.NON_FINITE_LOSS, AlertState.FIRING),
                    Tuple.tuple(AlertType.FAILURE_THRESHOLD, AlertState.FIRING),
                    Tuple.tuple(AlertType.TRAINER_STALE, AlertState.FIRING));
            assertThat(received).extracting(Alert::getAlertId).doesNotHaveDuplicates();
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

            // And every loss-ratio window is published exactly once, with exact ratios: the last one, [40 s, 50 s),
            // closes in the quiet period after the last step, with no further record
            List<MonitorEvent> events = readToEnd(monitors,
                    KdAvroSerdes.value(MonitorEvent.class, serdeConfig).deserializer(),
                    list -> list.stream().filter(e -> e.getMonitor() == MonitorKind.LOSS_RATIO).count() >= 5);
            List<MonitorEvent> lossWindows = events.stream().filter(e -> e.getMonitor() == MonitorKind.LOSS_RATIO)
                    .toList();
            assertThat(lossWindows).extracting(e -> e.getWindowStartMs().toEpochMilli())
                    .containsExactly(0L, WINDOW_MS, 2 * WINDOW_MS, 3 * WINDOW_MS, 4 * WINDOW_MS);
            assertThat(lossWindows).extracting(MonitorEvent::getLossRatio)
                    .containsExactly(8.0, 8.0, 8.0, null, 1.0);

            // And the poison record was dead-lettered by the monitor, with its original bytes
            List<FailureEvent> dead = readToEnd(dlq,
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

    @Test
    void shouldPublishShortRunsWithoutFurtherTrafficAndNotReportAFinishedTrainerStale() throws Exception {
        String scope = "monitors-it-" + UUID.randomUUID();
        String registry = "mock://" + scope;
        Map<String, Object> serdeConfig = Map.of(MonitorConfig.SCHEMA_REGISTRY_URL_CONFIG, registry);
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        String metrics = "kd.metrics-" + suffix;
        String dlq = "kd.dlq-" + suffix;
        String monitors = "kd.monitors-" + suffix;
        String alerts = "kd.alerts-" + suffix;
        String runs = "kd.runs-" + suffix;
        createTopics(metrics, dlq, monitors, alerts, runs);

        // Given the monitor with 10 s windows every 5 s, 2 s grace, staleness after 4 s
        Map<String, Object> settings = shortWindowSettings(registry, suffix, "monitor-it-short-" + suffix, stateDir);

        try (MonitorApp app = MonitorApp.start(new MonitorConfig(settings))) {
            awaitRunning(app.streams());

            // When two short runs send five steps each, within one second, and then nothing: run-done's trainer
            // publishes its FINISHED manifest, as the trainer does at the end of a bounded run; run-quiet's does not
            Map<String, Object> producerProps = new HashMap<>(kafka.clientProperties());
            producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
            long t0 = System.currentTimeMillis();
            List<Long> times = new ArrayList<>();
            try (KafkaProducer<String, TrainingStep> steps = new KafkaProducer<>(producerProps,
                         new StringSerializer(), KdAvroSerdes.value(TrainingStep.class, serdeConfig).serializer());
                 KafkaProducer<String, RunManifest> manifests = new KafkaProducer<>(producerProps,
                         new StringSerializer(), KdAvroSerdes.value(RunManifest.class, serdeConfig).serializer())) {
                for (int i = 0; i < 5; i++) {
                    long t = t0 + i * 200L;
                    times.add(t);
                    steps.send(new ProducerRecord<>(metrics, null, t, "run-done",
                            step("run-done", "t-done", i + 1, t, 0.5, 1.0)));
                    steps.send(new ProducerRecord<>(metrics, null, t, "run-quiet",
                            step("run-quiet", "t-quiet", i + 1, t, 0.5, 0.5)));
                }
                steps.flush();
                manifests.send(new ProducerRecord<>(runs, "run-done", finished("run-done", t0 + 1_000))).get();
            }
            long sent = System.currentTimeMillis();

            // Then both runs' windows appear on the monitors topic without any further record, each exactly once:
            // run-done's at its end, run-quiet's once end + grace has passed on the wall clock
            Map<Long, Long> expected = windowsOf(times, 10_000, 5_000);
            Map<String, Long> seenAt = new HashMap<>();
            List<MonitorEvent> events = readToEnd(monitors,
                    KdAvroSerdes.value(MonitorEvent.class, serdeConfig).deserializer(),
                    list -> {
                        list.forEach(e -> seenAt.putIfAbsent(e.getSubject(), System.currentTimeMillis()));
                        return list.stream().filter(e -> e.getRunId().equals("run-done")).count() >= expected.size()
                                && list.stream().filter(e -> e.getRunId().equals("run-quiet")).count()
                                        >= expected.size();
                    });
            for (String run : List.of("run-done", "run-quiet")) {
                List<MonitorEvent> windows = events.stream().filter(e -> e.getRunId().equals(run)).toList();
                assertThat(windows).as(run).extracting(e -> e.getWindowStartMs().toEpochMilli(),
                                MonitorEvent::getRecords)
                        .containsExactlyElementsOf(expected.entrySet().stream()
                                .map(e -> Tuple.tuple(e.getKey(), e.getValue())).toList());
            }
            assertThat(events).filteredOn(e -> e.getRunId().equals("run-done"))
                    .allSatisfy(e -> assertThat(e.getLossRatio()).isEqualTo(2.0));
            long lastStep = times.get(times.size() - 1);
            System.out.printf("monitors-it: first window of run-done read %d ms after its manifest was sent; of "
                    + "run-quiet %d ms after its last step's event time (its earliest window's end + grace: %d ms "
                    + "after it)%n", seenAt.get("run-done/t-done") - sent, seenAt.get("run-quiet/t-quiet") - lastStep,
                    expected.keySet().iterator().next() + 12_000 - lastStep);

            // And the trainer that stopped without finishing is reported stale once; the finished one never, even
            // well past the staleness threshold
            List<Alert> received = readToEnd(alerts, KdAvroSerdes.value(Alert.class, serdeConfig).deserializer(),
                    list -> list.stream().anyMatch(a -> a.getType() == AlertType.TRAINER_STALE)
                            && System.currentTimeMillis() - sent > 8_000);
            assertThat(received).extracting(Alert::getType, Alert::getTrainerId, Alert::getState)
                    .containsExactly(Tuple.tuple(AlertType.TRAINER_STALE, "t-quiet", AlertState.FIRING));
            assertThat(app.streams().state()).isEqualTo(KafkaStreams.State.RUNNING);
        } finally {
            MockSchemaRegistry.dropScope(scope);
        }
    }

    /** Monitor settings for topics {@code kd.<role>-<suffix>}: 10 s windows every 5 s, 2 s grace, stale after 4 s. */
    private static Map<String, Object> shortWindowSettings(String registry, String suffix, String applicationId,
                                                           Path stateDir) {
        Map<String, Object> settings = new HashMap<>();
        settings.put(MonitorConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        settings.put(MonitorConfig.SCHEMA_REGISTRY_URL_CONFIG, registry);
        settings.put(MonitorConfig.APPLICATION_ID_CONFIG, applicationId);
        settings.put(MonitorConfig.TOPIC_METRICS_CONFIG, "kd.metrics-" + suffix);
        settings.put(MonitorConfig.TOPIC_DLQ_CONFIG, "kd.dlq-" + suffix);
        settings.put(MonitorConfig.TOPIC_MONITORS_CONFIG, "kd.monitors-" + suffix);
        settings.put(MonitorConfig.TOPIC_ALERTS_CONFIG, "kd.alerts-" + suffix);
        settings.put(MonitorConfig.TOPIC_RUNS_CONFIG, "kd.runs-" + suffix);
        settings.put(MonitorConfig.LOSS_WINDOW_SIZE_MS_CONFIG, 10_000L);
        settings.put(MonitorConfig.LOSS_WINDOW_ADVANCE_MS_CONFIG, 5_000L);
        settings.put(MonitorConfig.LOSS_WINDOW_GRACE_MS_CONFIG, 2_000L);
        settings.put(MonitorConfig.WINDOW_CHECK_INTERVAL_MS_CONFIG, 500L);
        settings.put(MonitorConfig.STALENESS_THRESHOLD_MS_CONFIG, 4_000L);
        settings.put(MonitorConfig.STALENESS_CHECK_INTERVAL_MS_CONFIG, 500L);
        settings.put(MonitorConfig.HTTP_ENABLED_CONFIG, false);
        settings.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        settings.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        settings.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return settings;
    }

    @Test
    void shouldPublishEachEarlyClosedWindowOnceAcrossARestartAndCountALaterStepLate(@TempDir Path otherStateDir)
            throws Exception {
        String scope = "monitors-it-" + UUID.randomUUID();
        String registry = "mock://" + scope;
        Map<String, Object> serdeConfig = Map.of(MonitorConfig.SCHEMA_REGISTRY_URL_CONFIG, registry);
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        createTopics("kd.metrics-" + suffix, "kd.dlq-" + suffix, "kd.monitors-" + suffix, "kd.alerts-" + suffix,
                "kd.runs-" + suffix);
        String applicationId = "monitor-it-restart-" + suffix;
        Map<String, Object> producerProps = new HashMap<>(kafka.clientProperties());
        producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
        long t0 = System.currentTimeMillis();
        List<Long> times = List.of(t0, t0 + 200, t0 + 400);
        Map<Long, Long> expected = windowsOf(times, 10_000, 5_000);
        Predicate<List<MonitorEvent>> allWindows = list -> list.size() >= 2 * expected.size();
        try (KafkaProducer<String, TrainingStep> steps = new KafkaProducer<>(producerProps, new StringSerializer(),
                KdAvroSerdes.value(TrainingStep.class, serdeConfig).serializer())) {
            try {
                // Given a monitor that closed a finished run's windows at its end and a stopped run's in the quiet
                try (MonitorApp app = MonitorApp.start(new MonitorConfig(
                        shortWindowSettings(registry, suffix, applicationId, stateDir)))) {
                    awaitRunning(app.streams());
                    try (KafkaProducer<String, RunManifest> manifests = new KafkaProducer<>(producerProps,
                            new StringSerializer(), KdAvroSerdes.value(RunManifest.class, serdeConfig).serializer())) {
                        for (int i = 0; i < times.size(); i++) {
                            long t = times.get(i);
                            steps.send(new ProducerRecord<>("kd.metrics-" + suffix, null, t, "run-done",
                                    step("run-done", "t-done", i + 1, t, 0.5, 1.0)));
                            steps.send(new ProducerRecord<>("kd.metrics-" + suffix, null, t, "run-quiet",
                                    step("run-quiet", "t-quiet", i + 1, t, 0.5, 0.5)));
                        }
                        steps.flush();
                        manifests.send(new ProducerRecord<>("kd.runs-" + suffix, "run-done",
                                finished("run-done", t0 + 1_000))).get();
                    }
                    readToEnd("kd.monitors-" + suffix,
                            KdAvroSerdes.value(MonitorEvent.class, serdeConfig).deserializer(), allWindows);
                }

                // When it restarts on an empty state directory (its state comes back from the changelogs), stays up
                // for six window checks (every window's end + grace is already past on the wall clock, so a restarted
                // monitor that forgot what it published would publish it again now), and then a step of run-done's
                // closed window arrives
                Map<String, Object> again = shortWindowSettings(registry, suffix, applicationId, otherStateDir);
                again.put(MonitorConfig.HTTP_ENABLED_CONFIG, true);
                again.put(MonitorConfig.HTTP_PORT_CONFIG, 0);
                try (MonitorApp app = MonitorApp.start(new MonitorConfig(again))) {
                    awaitRunning(app.streams());
                    long lastClose = expected.keySet().stream().mapToLong(start -> start + 10_000 + 2_000).max()
                            .orElseThrow();
                    Thread.sleep(Math.max(0, lastClose - System.currentTimeMillis()) + 6 * 500);
                    // (between two earlier steps, so every window it belongs to was closed at the run's end)
                    steps.send(new ProducerRecord<>("kd.metrics-" + suffix, null, t0 + 100, "run-done",
                            step("run-done", "t-done", 4, t0 + 100, 0.5, 100.0))).get();

                    // Then the step is counted late for run-done
                    HttpClient http = HttpClient.newHttpClient();
                    long deadline = System.nanoTime() + TIMEOUT.toNanos();
                    String body = "";
                    while (!body.contains("\"lateRecordsDropped\":1")) {
                        assertThat(System.nanoTime()).as("late count of run-done, last answer " + body)
                                .isLessThan(deadline);
                        Thread.sleep(200);
                        HttpResponse<String> run = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                                + app.httpPort() + "/monitors/loss-ratio/run-done")).build(),
                                HttpResponse.BodyHandlers.ofString());
                        body = run.statusCode() == 200 ? run.body() : "";
                    }

                    // And every window of both runs is on the topic exactly once
                    List<MonitorEvent> events = readToEnd("kd.monitors-" + suffix,
                            KdAvroSerdes.value(MonitorEvent.class, serdeConfig).deserializer(), allWindows);
                    for (String run : List.of("run-done", "run-quiet")) {
                        assertThat(events).as(run).filteredOn(e -> e.getRunId().equals(run))
                                .extracting(e -> e.getWindowStartMs().toEpochMilli(), MonitorEvent::getRecords)
                                .containsExactlyElementsOf(expected.entrySet().stream()
                                        .map(e -> Tuple.tuple(e.getKey(), e.getValue())).toList());
                    }
                    assertThat(app.streams().state()).isEqualTo(KafkaStreams.State.RUNNING);
                }
            } finally {
                MockSchemaRegistry.dropScope(scope);
            }
        }
    }

    /** Window start to the number of {@code times} in it, for hopping windows, in window order. */
    private static Map<Long, Long> windowsOf(List<Long> times, long size, long advance) {
        Map<Long, Long> windows = new java.util.TreeMap<>();
        for (long t : times) {
            for (long start = Math.max(0, t - size + advance) / advance * advance; start <= t; start += advance) {
                windows.merge(start, 1L, Long::sum);
            }
        }
        return windows;
    }

    private static RunManifest finished(String run, long endedAtMs) {
        return RunManifest.newBuilder()
                .setRunId(run).setGroup("g").setStatus(RunStatus.FINISHED).setConfig(Map.of())
                .setConfigSha256("0".repeat(64)).setCodeVersion("it").setSeed(42L).setStudentArchitecture("mlp")
                .setRanges(List.of()).setFinalModelSha256("1".repeat(64))
                .setStartedAtMs(Instant.ofEpochMilli(endedAtMs - 1_000)).setEndedAtMs(Instant.ofEpochMilli(endedAtMs))
                .build();
    }

    private static void awaitRunning(KafkaStreams streams) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (streams.state() != KafkaStreams.State.RUNNING) {
            assertThat(System.nanoTime()).as("monitor reaches RUNNING, now " + streams.state()).isLessThan(deadline);
            assertThat(streams.state()).isNotIn(KafkaStreams.State.ERROR, KafkaStreams.State.NOT_RUNNING);
            Thread.sleep(100);
        }
    }

    private static void createTopics(String... names) throws Exception {
        try (Admin admin = kafka.admin()) {
            List<NewTopic> topics = new ArrayList<>();
            for (String name : names) {
                topics.add(new NewTopic(name, 1, (short) 1));
            }
            admin.createTopics(topics).all().get();
            NewTopicReadiness.await(admin, List.of(names), Duration.ofSeconds(30));
        }
    }

    private static <T> List<T> readToEnd(String topic, Deserializer<T> deserializer, Predicate<List<T>> done) {
        return TopicReads.readToEnd(kafka.clientProperties(), topic, deserializer, done, SETTLE, TIMEOUT);
    }
}
