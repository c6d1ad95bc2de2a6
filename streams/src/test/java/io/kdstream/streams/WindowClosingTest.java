package io.kdstream.streams;

import io.kdstream.avro.Alert;
import io.kdstream.avro.AlertState;
import io.kdstream.avro.AlertType;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.MonitorEvent;
import io.kdstream.avro.MonitorKind;
import io.kdstream.avro.RunStatus;

import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static io.kdstream.streams.MonitorHarness.failure;
import static io.kdstream.streams.MonitorHarness.manifest;
import static io.kdstream.streams.MonitorHarness.step;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Windows close without further records: in quiet periods (wall clock) and when the run's manifest says it ended.
 * The driver's wall clock starts at the epoch, as do the steps' event times; both are moved by the tests.
 */
class WindowClosingTest {

    private static final long W = 60_000;
    private static final long GRACE = 10_000;

    @TempDir
    Path stateDir;

    /** One-minute tumbling windows with 10 s grace, checked every second; staleness after 30 s. */
    private static Thresholds.Builder minuteWindows() {
        return Thresholds.builder()
                .optLossWindowSize(Duration.ofMillis(W))
                .optLossWindowAdvance(Duration.ofMillis(W))
                .optLossWindowGrace(Duration.ofMillis(GRACE))
                .optFailureWindow(Duration.ofMillis(W))
                .optFailureGrace(Duration.ofMillis(GRACE))
                .optFailureThreshold(10)
                .optWindowCheckInterval(Duration.ofSeconds(1))
                .optStalenessThreshold(Duration.ofSeconds(30))
                .optStalenessCheckInterval(Duration.ofSeconds(5));
    }

    /** Three steps of a short run at event times 1 s, 2 s, 3 s; ratio KD/task = 2. */
    private static void shortRun(MonitorHarness h, String run, String trainer) {
        for (int i = 1; i <= 3; i++) {
            h.pipe(step(run, trainer, i, i * 1_000L, 0.5, 1.0, 1.5));
        }
    }

    private static List<MonitorEvent> lossWindows(MonitorHarness h) {
        return h.monitors.readValuesToList().stream().filter(e -> e.getMonitor() == MonitorKind.LOSS_RATIO).toList();
    }

    @Test
    void shouldPublishARunShorterThanOneWindowOnceItsEndPlusGraceHasPassedOnTheWallClock() {
        try (MonitorHarness h = new MonitorHarness(minuteWindows().build(), stateDir)) {
            // Given a run of three steps, all within [0, 60 s), and no record after them
            shortRun(h, "run-1", "t-1");

            // When the wall clock reaches 66 s after the last step (3 s + 66 s = 69 s < end 60 s + grace 10 s)
            h.driver.advanceWallClockTime(Duration.ofSeconds(66));
            // Then the window is still open
            assertThat(h.monitors.isEmpty()).isTrue();

            // When it passes 67 s after the last step: 3 s + 67 s = end + grace
            h.driver.advanceWallClockTime(Duration.ofSeconds(1));

            // Then the window is published, with every step in it
            assertThat(lossWindows(h)).singleElement().satisfies(e -> {
                assertThat(e.getSubject()).isEqualTo("run-1/t-1");
                assertThat(e.getWindowStartMs()).isEqualTo(Instant.EPOCH);
                assertThat(e.getWindowEndMs()).isEqualTo(Instant.ofEpochMilli(W));
                assertThat(e.getRecords()).isEqualTo(3);
                assertThat(e.getLossRatio()).isEqualTo(2.0);
                assertThat(e.getFirstStep()).isEqualTo(1L);
                assertThat(e.getLastStep()).isEqualTo(3L);
            });
            // And only once, however long the quiet lasts
            h.driver.advanceWallClockTime(Duration.ofMinutes(10));
            assertThat(h.monitors.isEmpty()).isTrue();
        }
    }

    @Test
    void shouldPublishTheFailureCountOfAQuietComponentWithoutFurtherFailures() {
        try (MonitorHarness h = new MonitorHarness(minuteWindows().build(), stateDir)) {
            for (int i = 0; i < 30; i++) {
                h.pipe(failure("teacher-service", FailureKind.SHAPE, 1_000 + i));
            }
            assertThat(h.alerts.readValuesToList()).extracting(Alert::getType)
                    .containsExactly(AlertType.FAILURE_THRESHOLD);

            h.driver.advanceWallClockTime(Duration.ofSeconds(70));

            assertThat(h.monitors.readValuesToList()).singleElement().satisfies(e -> {
                assertThat(e.getMonitor()).isEqualTo(MonitorKind.FAILURE_COUNT);
                assertThat(e.getRecords()).isEqualTo(30);
            });
            h.driver.advanceWallClockTime(Duration.ofMinutes(5));
            assertThat(h.monitors.isEmpty()).isTrue();
            assertThat(h.alerts.isEmpty()).as("the threshold alert is not raised again").isTrue();
        }
    }

    @Test
    void shouldKeepWindowsOpenInQuietPeriodsWhenClosingWhenIdleIsOff() {
        Thresholds streamTimeOnly = minuteWindows().optCloseWindowsWhenIdle(false).build();
        try (MonitorHarness h = new MonitorHarness(streamTimeOnly, stateDir)) {
            shortRun(h, "run-1", "t-1");
            h.driver.advanceWallClockTime(Duration.ofMinutes(10));
            assertThat(h.monitors.isEmpty()).isTrue();

            h.pipe(step("run-1", "t-1", 4, W + GRACE, 0.5, 1.0, 1.5));
            assertThat(lossWindows(h)).singleElement()
                    .satisfies(e -> assertThat(e.getRecords()).isEqualTo(3));
        }
    }

    @Test
    void shouldPublishARunsLastWindowAsSoonAsItsManifestSaysItFinished() {
        try (MonitorHarness h = new MonitorHarness(minuteWindows().build(), stateDir)) {
            // Given two runs in the same window, and the first one's trainer quiet for 2 s
            shortRun(h, "run-1", "t-1");
            shortRun(h, "run-2", "t-2");
            h.driver.advanceWallClockTime(Duration.ofSeconds(2));
            assertThat(h.monitors.isEmpty()).as("neither run has ended, the window is open").isTrue();

            // When run-1's FINISHED manifest arrives
            h.pipe(manifest("run-1", RunStatus.FINISHED, 3_500L));
            h.driver.advanceWallClockTime(Duration.ofSeconds(1));

            // Then run-1's window is published at once, long before its end, and run-2's stays open
            assertThat(lossWindows(h)).singleElement().satisfies(e -> {
                assertThat(e.getSubject()).isEqualTo("run-1/t-1");
                assertThat(e.getRecords()).isEqualTo(3);
                assertThat(e.getLossRatio()).isEqualTo(2.0);
            });
            h.driver.advanceWallClockTime(Duration.ofSeconds(30));
            assertThat(h.monitors.isEmpty()).as("published once; run-2 still open").isTrue();

            // And a FAILED manifest ends a run as well
            h.pipe(manifest("run-2", RunStatus.FAILED, 3_500L));
            h.driver.advanceWallClockTime(Duration.ofSeconds(1));
            assertThat(lossWindows(h)).extracting(MonitorEvent::getSubject).containsExactly("run-2/t-2");
        }
    }

    @Test
    void shouldPublishEveryOpenHoppingWindowOfAFinishedRunInWindowOrder() {
        Thresholds hopping = minuteWindows().optLossWindowAdvance(Duration.ofSeconds(15)).build();
        try (MonitorHarness h = new MonitorHarness(hopping, stateDir)) {
            h.pipe(step("run-1", "t-1", 1, 50_000, 0.5, 1.0, 1.5));
            h.pipe(step("run-1", "t-1", 2, 70_000, 0.5, 1.0, 1.5));
            h.pipe(manifest("run-1", RunStatus.FINISHED, 71_000L));
            h.driver.advanceWallClockTime(Duration.ofSeconds(1));

            // the steps at 50 s and 70 s fall into the windows starting at 0, 15, 30, 45 s and 15, 30, 45, 60 s
            assertThat(lossWindows(h)).extracting(e -> e.getWindowStartMs().toEpochMilli(), MonitorEvent::getRecords)
                    .containsExactly(Tuple.tuple(0L, 1L), Tuple.tuple(15_000L, 2L), Tuple.tuple(30_000L, 2L),
                            Tuple.tuple(45_000L, 2L), Tuple.tuple(60_000L, 1L));
        }
    }

    @Test
    void shouldNotCloseTheWindowsOfARunThatSentStepsAfterItsEndedManifest() {
        try (MonitorHarness h = new MonitorHarness(minuteWindows().build(), stateDir)) {
            // a run that failed at 2.5 s and was resumed: its steps after the end keep the window open
            h.pipe(manifest("run-1", RunStatus.FAILED, 2_500L));
            shortRun(h, "run-1", "t-1");
            h.driver.advanceWallClockTime(Duration.ofSeconds(5));
            assertThat(h.monitors.isEmpty()).isTrue();
        }
    }

    @Test
    void shouldCountAStepAfterARunEndCloseAsLateAndNotPublishTheWindowTwice() {
        try (MonitorHarness h = new MonitorHarness(minuteWindows().build(), stateDir)) {
            shortRun(h, "run-1", "t-1");
            h.pipe(manifest("run-1", RunStatus.FINISHED, 3_500L));
            h.driver.advanceWallClockTime(Duration.ofSeconds(1));
            assertThat(lossWindows(h)).hasSize(1);

            // When a step of the closed window arrives after all
            h.pipe(step("run-1", "t-1", 4, 4_000, 0.5, 100.0, 100.5));
            h.driver.advanceWallClockTime(Duration.ofMinutes(5));

            // Then it is counted late, and the window is not published again
            assertThat(h.monitors.isEmpty()).isTrue();
            assertThat(h.driver.<String, Long>getKeyValueStore(LossRatioMonitor.LATE_STORE).get("5:run-1t-1"))
                    .isEqualTo(1L);
        }
    }

    @Test
    void shouldCountAStepAfterAQuietPeriodCloseAsLateAndReportItWithTheNextWindow() {
        try (MonitorHarness h = new MonitorHarness(minuteWindows().build(), stateDir)) {
            shortRun(h, "run-1", "t-1");
            h.driver.advanceWallClockTime(Duration.ofSeconds(70));
            assertThat(lossWindows(h)).singleElement().satisfies(e -> assertThat(e.getRecords()).isEqualTo(3));

            // a step of the closed window, then steps of the next windows
            h.pipe(step("run-1", "t-1", 4, 4_000, 0.5, 100.0, 100.5));
            h.pipe(step("run-1", "t-1", 5, W + 1_000, 0.5, 1.0, 1.5));
            h.pipe(step("run-1", "t-1", 6, 3 * W, 0.5, 1.0, 1.5));

            assertThat(lossWindows(h)).singleElement().satisfies(e -> {
                assertThat(e.getWindowStartMs()).isEqualTo(Instant.ofEpochMilli(W));
                assertThat(e.getRecords()).isEqualTo(1);
                assertThat(e.getLateRecordsDropped()).isEqualTo(1);
            });
        }
    }

    @Test
    void shouldNotReportTheTrainerOfAFinishedRunStaleButStillReportOneThatStoppedWithoutFinishing() {
        try (MonitorHarness h = new MonitorHarness(minuteWindows().build(), stateDir)) {
            // Given three trainers that stop: one finished its run, one failed, one just went silent
            shortRun(h, "run-done", "t-done");
            shortRun(h, "run-failed", "t-failed");
            shortRun(h, "run-silent", "t-silent");
            h.pipe(manifest("run-done", RunStatus.FINISHED, 3_500L));
            h.pipe(manifest("run-failed", RunStatus.FAILED, 3_500L));

            // When they stay silent beyond the threshold
            h.driver.advanceWallClockTime(Duration.ofSeconds(40));
            h.driver.advanceWallClockTime(Duration.ofMinutes(5));

            // Then only the failed and the silent one are stale, once each
            List<Alert> stale = h.alerts.readValuesToList().stream()
                    .filter(a -> a.getType() == AlertType.TRAINER_STALE).toList();
            assertThat(stale).extracting(Alert::getTrainerId, Alert::getState).containsExactlyInAnyOrder(
                    Tuple.tuple("t-failed", AlertState.FIRING), Tuple.tuple("t-silent", AlertState.FIRING));
        }
    }

    @Test
    void shouldResolveAStaleAlertWhenTheRunTurnsOutToHaveFinished() {
        try (MonitorHarness h = new MonitorHarness(minuteWindows().build(), stateDir)) {
            shortRun(h, "run-1", "t-1");
            h.driver.advanceWallClockTime(Duration.ofSeconds(40));
            assertThat(h.alerts.readValuesToList()).extracting(Alert::getType, Alert::getState)
                    .containsExactly(Tuple.tuple(AlertType.TRAINER_STALE, AlertState.FIRING));

            h.pipe(manifest("run-1", RunStatus.FINISHED, 3_500L));
            h.driver.advanceWallClockTime(Duration.ofSeconds(5));

            assertThat(h.alerts.readValuesToList()).singleElement().satisfies(a -> {
                assertThat(a.getType()).isEqualTo(AlertType.TRAINER_STALE);
                assertThat(a.getState()).isEqualTo(AlertState.RESOLVED);
                assertThat(a.getMessage()).contains("finished its run");
            });
            h.driver.advanceWallClockTime(Duration.ofMinutes(5));
            assertThat(h.alerts.isEmpty()).isTrue();
        }
    }

    @Test
    void shouldSkipAnUndecodableManifestAndKeepMonitoring() {
        try (MonitorHarness h = new MonitorHarness(minuteWindows().build(), stateDir)) {
            h.rawRuns.pipeInput("run-1", "not a manifest".getBytes(StandardCharsets.UTF_8));
            shortRun(h, "run-1", "t-1");
            h.pipe(manifest("run-1", RunStatus.FINISHED, 3_500L));
            h.driver.advanceWallClockTime(Duration.ofSeconds(1));
            assertThat(lossWindows(h)).hasSize(1);
        }
    }
}
