package io.kdstream.streams;

import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.MonitorEvent;
import io.kdstream.avro.MonitorKind;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static io.kdstream.streams.MonitorHarness.failure;
import static io.kdstream.streams.MonitorHarness.step;
import static org.assertj.core.api.Assertions.assertThat;

class LateAndPoisonRecordsTest {

    private static final long W = 10_000;
    private static final long GRACE = 5_000;

    @TempDir
    Path stateDir;

    private static Thresholds thresholds() {
        return Thresholds.builder()
                .optLossWindowSize(Duration.ofMillis(W))
                .optLossWindowAdvance(Duration.ofMillis(W))
                .optLossWindowGrace(Duration.ofMillis(GRACE))
                .optFailureWindow(Duration.ofMillis(W))
                .optFailureGrace(Duration.ofMillis(GRACE))
                .optFailureThreshold(100)
                .build();
    }

    @Test
    void shouldCountLateStepsWithinGraceAndDropAndCountStepsAfterGrace() {
        try (MonitorHarness h = new MonitorHarness(thresholds(), stateDir)) {
            h.pipe(step("run-1", "t-1", 1, 1_000, 0.5, 0.5, 1.0));
            h.pipe(step("run-1", "t-1", 3, 12_000, 0.5, 0.5, 1.0));
            // stream time 12s: window [0, 10s) accepts until 15s -> this late step is counted
            h.pipe(step("run-1", "t-1", 2, 2_000, 0.5, 1.5, 2.0));
            assertThat(h.monitors.isEmpty()).isTrue();

            h.pipe(step("run-1", "t-1", 4, 16_000, 0.5, 0.5, 1.0));
            MonitorEvent w0 = h.monitors.readValue();
            assertThat(w0.getWindowStartMs()).isEqualTo(Instant.EPOCH);
            assertThat(w0.getRecords()).isEqualTo(2);
            assertThat(w0.getLossRatio()).isEqualTo(2.0);
            assertThat(w0.getLateRecordsDropped()).isZero();

            // stream time 16s: window [0, 10s) is closed -> dropped, and counted
            h.pipe(step("run-1", "t-1", 2, 3_000, 0.5, 100.0, 100.5));
            h.pipe(step("run-1", "t-1", 5, 40_000, 0.5, 0.5, 1.0));
            List<MonitorEvent> later = h.monitors.readValuesToList();
            assertThat(later).hasSize(1);
            MonitorEvent w1 = later.get(0);
            assertThat(w1.getWindowStartMs()).isEqualTo(Instant.ofEpochMilli(W));
            assertThat(w1.getRecords()).isEqualTo(2);
            assertThat(w1.getLateRecordsDropped()).isEqualTo(1);
            assertThat(h.driver.<String, Long>getKeyValueStore(LossRatioMonitor.LATE_STORE).get("5:run-1t-1"))
                    .isEqualTo(1L);
        }
    }

    @Test
    void shouldCountLateFailuresWithinGraceAndDropAndCountThemAfterGrace() {
        try (MonitorHarness h = new MonitorHarness(thresholds(), stateDir)) {
            h.pipe(failure("teacher-service", FailureKind.SHAPE, 1_000));
            h.pipe(failure("teacher-service", FailureKind.SHAPE, 14_000));
            h.pipe(failure("teacher-service", FailureKind.SHAPE, 9_000));
            h.pipe(failure("teacher-service", FailureKind.SHAPE, 15_000));
            h.pipe(failure("teacher-service", FailureKind.SHAPE, 9_500));
            h.pipe(failure("teacher-service", FailureKind.SHAPE, 60_000));

            List<MonitorEvent> events = h.monitors.readValuesToList();
            assertThat(events).extracting(e -> e.getWindowStartMs().toEpochMilli(), MonitorEvent::getRecords)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple(0L, 2L),
                            org.assertj.core.groups.Tuple.tuple(W, 2L));
            assertThat(events.get(1).getLateRecordsDropped()).isEqualTo(1);
        }
    }

    @Test
    void shouldDeadLetterAPoisonStepAndKeepMonitoring() {
        try (MonitorHarness h = new MonitorHarness(thresholds(), stateDir)) {
            byte[] poison = "definitely not avro".getBytes(StandardCharsets.UTF_8);
            h.pipe(step("run-1", "t-1", 1, 1_000, 0.5, 0.5, 1.0));
            h.rawMetrics.pipeInput("t-1", poison, Instant.ofEpochMilli(2_000));
            h.pipe(step("run-1", "t-1", 2, 3_000, 0.5, 1.5, 2.0));
            h.pipe(step("run-1", "t-1", 3, 30_000, 0.5, 0.5, 1.0));

            List<FailureEvent> dead = h.dlqOut.readValuesToList();
            assertThat(dead).hasSize(1);
            FailureEvent failure = dead.get(0);
            assertThat(failure.getComponent()).isEqualTo("monitor");
            assertThat(failure.getKind()).isIn(FailureKind.DESERIALIZATION, FailureKind.SCHEMA);
            assertThat(failure.getSource().getTopic()).isEqualTo("kd.metrics");
            assertThat(failure.getSource().getOffset()).isEqualTo(1L);
            assertThat(failure.getOriginalValue()).isEqualTo(ByteBuffer.wrap(poison));
            assertThat(failure.getKey()).isEqualTo(ByteBuffer.wrap("t-1".getBytes(StandardCharsets.UTF_8)));

            List<MonitorEvent> events = h.monitors.readValuesToList();
            assertThat(events).filteredOn(e -> e.getMonitor() == MonitorKind.LOSS_RATIO)
                    .singleElement()
                    .satisfies(e -> {
                        assertThat(e.getRecords()).isEqualTo(2);
                        assertThat(e.getLossRatio()).isEqualTo(2.0);
                    });
        }
    }

    @Test
    void shouldDeadLetterAPoisonFailureEventAndCountIt() {
        try (MonitorHarness h = new MonitorHarness(thresholds(), stateDir)) {
            h.rawDlq.pipeInput("x", new byte[] {0, 0, 0, 0, 42, 1, 2}, Instant.ofEpochMilli(1_000));
            h.pipe(failure("teacher-service", FailureKind.SHAPE, 2_000));

            List<FailureEvent> dead = h.dlqOut.readValuesToList();
            assertThat(dead).singleElement().satisfies(f -> {
                assertThat(f.getComponent()).isEqualTo("monitor");
                assertThat(f.getSource().getTopic()).isEqualTo("kd.dlq");
            });
        }
    }
}
