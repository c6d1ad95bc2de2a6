package io.kdstream.it;

import io.kdstream.avro.Alert;
import io.kdstream.avro.AlertType;
import io.kdstream.avro.MonitorEvent;
import io.kdstream.avro.MonitorKind;
import io.kdstream.avro.TrainingStep;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.it.support.TopicReads;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.streams.MonitorApp;
import io.kdstream.streams.MonitorConfig;
import io.kdstream.streams.Thresholds;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;
import io.kdstream.it.support.LocalKafka;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The monitor with its default windows (60 s, every 15 s, 10 s grace) watching a real bounded training run that is
 * much shorter than one window: the run's windows are published when the trainer's FINISHED manifest arrives, with no
 * further traffic, each once, and the trainer that finished is never reported stale.
 */
class MonitorTrainerRunIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final Duration SETTLE = Duration.ofSeconds(4);
    private static final long STALENESS_MS = 5_000;

    @RegisterExtension
    static final LocalKafka STACK = LocalKafka.withFashionMnist();

    @Test
    void shouldPublishAShortRunsWindowsWhenItFinishesAndNotReportItsTrainerStale(@TempDir Path dir) throws Exception {
        // Given 300 teacher outputs and the monitor running with its default windows
        Map<String, Object> props = TrainerIT.Fixtures.props(STACK.kafka(), STACK.registry(), "monrun", dir);
        props.put(TrainerConfig.EPOCHS_CONFIG, "1");
        props.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "0");
        TrainerIT.Fixtures.createTopics(props);
        TrainerIT.Fixtures.produce(props, 0, 300, TrainerIT.Fixtures::valid);
        KdConfig kd = new KdConfig(props);
        Map<String, Object> serde = kd.serdeProperties();

        try (MonitorApp app = MonitorApp.start(new MonitorConfig(monitorSettings(props, dir)))) {
            awaitRunning(app.streams());

            // When a one-epoch run trains on them (a few seconds, far shorter than one window)
            Trainer.Result result;
            try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props)).build()) {
                result = trainer.run();
            }
            assertThat(result.completed()).isTrue();
            List<TrainingStep> steps = TrainerIT.Fixtures.readAll(kd, kd.topics().metrics(), TrainingStep.class);
            assertThat(steps).hasSize((int) result.steps());
            Map<Long, Long> expected = windowsOf(steps);
            long newestEnd = expected.keySet().stream().mapToLong(Long::longValue).max().orElseThrow()
                    + Thresholds.DEFAULT_LOSS_WINDOW_SIZE.toMillis();

            // Then every window of the run is published, each exactly once, without any further record; the newest
            // one before its end plus grace has come, so it was closed by the run's end, not by time
            long[] newestSeenAt = {Long.MAX_VALUE};
            List<MonitorEvent> events = TopicReads.readToEnd(STACK.kafka().clientProperties(), kd.topics().monitors(),
                    KdAvroSerdes.value(MonitorEvent.class, serde).deserializer(),
                    list -> {
                        if (newestSeenAt[0] == Long.MAX_VALUE && list.stream()
                                .anyMatch(e -> e.getWindowEndMs().toEpochMilli() == newestEnd)) {
                            newestSeenAt[0] = System.currentTimeMillis();
                        }
                        return list.stream().filter(e -> e.getMonitor() == MonitorKind.LOSS_RATIO).count()
                                >= expected.size();
                    }, SETTLE, TIMEOUT);
            List<MonitorEvent> windows = events.stream().filter(e -> e.getMonitor() == MonitorKind.LOSS_RATIO)
                    .toList();
            assertThat(windows).extracting(e -> e.getWindowStartMs().toEpochMilli(), MonitorEvent::getRecords)
                    .containsExactlyElementsOf(expected.entrySet().stream()
                            .map(e -> Tuple.tuple(e.getKey(), e.getValue())).toList());
            assertThat(windows).allSatisfy(e -> {
                assertThat(e.getRunId()).isEqualTo(result.runId());
                assertThat(e.getLossRatio()).isPositive();
            });
            long grace = Thresholds.DEFAULT_LOSS_WINDOW_GRACE.toMillis();
            assertThat(newestSeenAt[0]).as("newest window published before its end + grace").isLessThan(
                    newestEnd + grace);
            System.out.printf("monitor-trainer-run-it: %d steps, %d windows; the newest window was published "
                    + "%d ms before its end + grace%n", steps.size(), windows.size(),
                    newestEnd + grace - newestSeenAt[0]);

            // And the finished trainer is not reported stale, well past the staleness threshold
            long finished = System.currentTimeMillis();
            List<Alert> alerts = TopicReads.readToEnd(STACK.kafka().clientProperties(), kd.topics().alerts(),
                    KdAvroSerdes.value(Alert.class, serde).deserializer(),
                    list -> System.currentTimeMillis() - finished > 2 * STALENESS_MS, SETTLE, TIMEOUT);
            assertThat(alerts).extracting(Alert::getType).doesNotContain(AlertType.TRAINER_STALE);
            assertThat(app.streams().state()).isEqualTo(KafkaStreams.State.RUNNING);
        }
    }

    private static Map<String, Object> monitorSettings(Map<String, Object> props, Path dir) {
        Map<String, Object> settings = new HashMap<>();
        for (String key : List.of(KdConfig.TOPIC_METRICS_CONFIG, KdConfig.TOPIC_DLQ_CONFIG, KdConfig.TOPIC_RUNS_CONFIG,
                KdConfig.TOPIC_MONITORS_CONFIG, KdConfig.TOPIC_ALERTS_CONFIG, MonitorConfig.BOOTSTRAP_SERVERS_CONFIG,
                MonitorConfig.SCHEMA_REGISTRY_URL_CONFIG)) {
            settings.put(key, props.get(key));
        }
        settings.put(MonitorConfig.APPLICATION_ID_CONFIG, "monitor-trainer-run-it");
        settings.put(MonitorConfig.STALENESS_THRESHOLD_MS_CONFIG, STALENESS_MS);
        settings.put(MonitorConfig.STALENESS_CHECK_INTERVAL_MS_CONFIG, 1_000L);
        settings.put(MonitorConfig.HTTP_ENABLED_CONFIG, false);
        settings.put(StreamsConfig.STATE_DIR_CONFIG, dir.resolve("monitor-state").toString());
        settings.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        settings.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return settings;
    }

    /** Window start to the number of steps in it, for the default hopping windows, in window order. */
    private static Map<Long, Long> windowsOf(List<TrainingStep> steps) {
        long size = Thresholds.DEFAULT_LOSS_WINDOW_SIZE.toMillis();
        long advance = Thresholds.DEFAULT_LOSS_WINDOW_ADVANCE.toMillis();
        Map<Long, Long> windows = new TreeMap<>();
        for (TrainingStep step : steps) {
            long t = step.getTimestampMs().toEpochMilli();
            for (long start = Math.max(0, t - size + advance) / advance * advance; start <= t; start += advance) {
                windows.merge(start, 1L, Long::sum);
            }
        }
        return windows;
    }

    private static void awaitRunning(KafkaStreams streams) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (streams.state() != KafkaStreams.State.RUNNING) {
            assertThat(System.nanoTime()).as("monitor reaches RUNNING, now " + streams.state()).isLessThan(deadline);
            assertThat(streams.state()).isNotIn(KafkaStreams.State.ERROR, KafkaStreams.State.NOT_RUNNING);
            Thread.sleep(100);
        }
    }
}
