package io.kdstream.streams;

import io.kdstream.avro.Alert;
import io.kdstream.avro.AlertState;
import io.kdstream.avro.AlertType;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.MonitorEvent;
import io.kdstream.avro.MonitorKind;

import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static io.kdstream.streams.MonitorHarness.failure;
import static io.kdstream.streams.MonitorHarness.step;
import static org.assertj.core.api.Assertions.assertThat;

class FailureAndStalenessMonitorTest {

    private static final long W = 60_000;

    @TempDir
    Path stateDir;

    private static Thresholds thresholds() {
        return Thresholds.builder()
                .optFailureWindow(Duration.ofMillis(W))
                .optFailureGrace(Duration.ZERO)
                .optFailureThreshold(3)
                .optStalenessThreshold(Duration.ofSeconds(30))
                .optStalenessCheckInterval(Duration.ofSeconds(5))
                .build();
    }

    @Test
    void shouldAlertOncePerWindowWhenFailuresReachTheThreshold() {
        try (MonitorHarness h = new MonitorHarness(thresholds(), stateDir)) {
            for (int i = 0; i < 5; i++) {
                h.pipe(failure("teacher-service", FailureKind.NON_FINITE, 1_000 + i));
            }
            h.pipe(failure("teacher-service", FailureKind.SHAPE, 2_000));
            h.pipe(failure("teacher-service", FailureKind.SHAPE, 3_000));
            h.pipe(failure("student-trainer", FailureKind.NON_FINITE, 4_000));

            List<Alert> alerts = h.alerts.readValuesToList();
            assertThat(alerts).singleElement().satisfies(a -> {
                assertThat(a.getType()).isEqualTo(AlertType.FAILURE_THRESHOLD);
                assertThat(a.getMonitor()).isEqualTo(MonitorKind.FAILURE_COUNT);
                assertThat(a.getComponent()).isEqualTo("teacher-service");
                assertThat(a.getFailureKind()).isEqualTo("NON_FINITE");
                assertThat(a.getObservedValue()).isEqualTo(3.0);
                assertThat(a.getThreshold()).isEqualTo(3.0);
                assertThat(a.getWindowStartMs()).isEqualTo(Instant.EPOCH);
            });

            // next window: the count starts again and reaches the threshold once more
            for (int i = 0; i < 3; i++) {
                h.pipe(failure("teacher-service", FailureKind.NON_FINITE, W + 1_000 + i));
            }
            assertThat(h.alerts.readValuesToList()).singleElement()
                    .satisfies(a -> assertThat(a.getWindowStartMs()).isEqualTo(Instant.ofEpochMilli(W)));

            List<MonitorEvent> closed = h.monitors.readValuesToList();
            assertThat(closed).extracting(MonitorEvent::getSubject, MonitorEvent::getRecords)
                    .containsExactlyInAnyOrder(
                            Tuple.tuple("teacher-service/NON_FINITE", 5L),
                            Tuple.tuple("teacher-service/SHAPE", 2L),
                            Tuple.tuple("student-trainer/NON_FINITE", 1L));
        }
    }

    @Test
    void shouldUseTheDefaultThresholdOfTenFailures() {
        try (MonitorHarness h = new MonitorHarness(Thresholds.defaults(), stateDir)) {
            for (int i = 0; i < 9; i++) {
                h.pipe(failure("teacher-service", FailureKind.MODEL, 1_000 + i));
            }
            assertThat(h.alerts.isEmpty()).isTrue();
            h.pipe(failure("teacher-service", FailureKind.MODEL, 2_000));
            assertThat(h.alerts.readValuesToList()).singleElement()
                    .satisfies(a -> assertThat(a.getObservedValue()).isEqualTo(10.0));
        }
    }

    @Test
    void shouldReportASilentTrainerOnceAndResolveWhenItStepsAgain() {
        try (MonitorHarness h = new MonitorHarness(thresholds(), stateDir)) {
            h.pipe(step("run-1", "t-1", 7, 1_000, 0.5, 0.5, 1.0));
            h.pipe(step("run-1", "t-2", 3, 1_000, 0.5, 0.5, 1.0));

            h.driver.advanceWallClockTime(Duration.ofSeconds(20));
            h.pipe(step("run-1", "t-2", 4, 2_000, 0.5, 0.5, 1.0));
            h.driver.advanceWallClockTime(Duration.ofSeconds(15));
            List<Alert> stale = h.alerts.readValuesToList();
            assertThat(stale).singleElement().satisfies(a -> {
                assertThat(a.getType()).isEqualTo(AlertType.TRAINER_STALE);
                assertThat(a.getState()).isEqualTo(AlertState.FIRING);
                assertThat(a.getTrainerId()).isEqualTo("t-1");
                assertThat(a.getRunId()).isEqualTo("run-1");
                assertThat(a.getAttributes()).containsEntry("lastStep", "7");
                assertThat(a.getObservedValue()).isGreaterThan(30_000.0);
            });

            h.driver.advanceWallClockTime(Duration.ofSeconds(10));
            assertThat(h.alerts.isEmpty()).as("t-1 is not reported again, t-2 silent for 25 s only").isTrue();
            h.driver.advanceWallClockTime(Duration.ofSeconds(10));
            assertThat(h.alerts.readValuesToList()).extracting(Alert::getTrainerId, Alert::getState)
                    .as("t-2 silent for 35 s")
                    .containsExactly(Tuple.tuple("t-2", AlertState.FIRING));
            h.driver.advanceWallClockTime(Duration.ofMinutes(5));
            assertThat(h.alerts.isEmpty()).isTrue();

            h.pipe(step("run-1", "t-1", 8, 400_000, 0.5, 0.5, 1.0));
            assertThat(h.alerts.readValuesToList()).extracting(Alert::getTrainerId, Alert::getState)
                    .containsExactly(Tuple.tuple("t-1", AlertState.RESOLVED));
        }
    }
}
