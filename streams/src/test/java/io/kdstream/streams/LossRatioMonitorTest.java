package io.kdstream.streams;

import io.kdstream.avro.Alert;
import io.kdstream.avro.AlertSeverity;
import io.kdstream.avro.AlertState;
import io.kdstream.avro.AlertType;
import io.kdstream.avro.MonitorEvent;
import io.kdstream.avro.MonitorKind;
import io.kdstream.avro.TrainingStep;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static io.kdstream.streams.MonitorHarness.step;
import static org.assertj.core.api.Assertions.assertThat;

class LossRatioMonitorTest {

    private static final long W = 10_000;

    @TempDir
    Path stateDir;

    private static Thresholds.Builder tumbling() {
        return Thresholds.builder()
                .optLossWindowSize(Duration.ofMillis(W))
                .optLossWindowAdvance(Duration.ofMillis(W))
                .optLossWindowGrace(Duration.ZERO)
                .optBand(0.5, 4.0)
                .optConsecutiveWindows(3)
                .optEwmaAlpha(0.5);
    }

    /** Steps in window k (k * W .. k * W + 3000) whose KD/task ratio is exactly {@code ratio}. */
    private static void window(MonitorHarness h, int k, double ratio) {
        long base = k * W;
        h.pipe(step("run-1", "t-1", k * 10L + 1, base + 1000, 0.5, 0.5 * ratio, 0.5 + 0.5 * ratio));
        h.pipe(step("run-1", "t-1", k * 10L + 2, base + 2000, 0.25, 0.25 * ratio, 0.25 + 0.25 * ratio));
        h.pipe(step("run-1", "t-1", k * 10L + 3, base + 3000, 0.25, 0.25 * ratio, 0.25 + 0.25 * ratio));
    }

    @Test
    void shouldComputeRatioMeanTrendAndEwmaExactlyPerClosedWindow() {
        try (MonitorHarness h = new MonitorHarness(tumbling().build(), stateDir)) {
            // Window [0, 10s): task 0.5 + 0.25 + 0.25 = 1.0, KD 1.5 + 0.25 + 0.25 = 2.0, totals 1, 2, 3 at steps 1..3
            h.pipe(step("run-1", "t-1", 1, 1000, 0.5, 1.5, 1.0));
            h.pipe(step("run-1", "t-1", 2, 2000, 0.25, 0.25, 2.0));
            h.pipe(step("run-1", "t-1", 3, 3000, 0.25, 0.25, 3.0));
            assertThat(h.monitors.isEmpty()).as("window still open").isTrue();

            // Window [10s, 20s): task 0.5, KD 2.0 -> ratio 4.0, one step -> no trend
            h.pipe(step("run-1", "t-1", 4, 12_000, 0.5, 2.0, 2.5));
            List<MonitorEvent> first = h.monitors.readValuesToList();
            assertThat(first).hasSize(1);
            MonitorEvent w0 = first.get(0);
            assertThat(w0.getMonitor()).isEqualTo(MonitorKind.LOSS_RATIO);
            assertThat(w0.getRunId()).isEqualTo("run-1");
            assertThat(w0.getTrainerId()).isEqualTo("t-1");
            assertThat(w0.getWindowStartMs()).isEqualTo(Instant.ofEpochMilli(0));
            assertThat(w0.getWindowEndMs()).isEqualTo(Instant.ofEpochMilli(W));
            assertThat(w0.getRecords()).isEqualTo(3);
            assertThat(w0.getTaskLossSum()).isEqualTo(1.0);
            assertThat(w0.getKdLossSum()).isEqualTo(2.0);
            assertThat(w0.getLossRatio()).isEqualTo(2.0);
            assertThat(w0.getLossRatioEwma()).isEqualTo(2.0);
            assertThat(w0.getMeanTotalLoss()).isEqualTo(2.0);
            assertThat(w0.getTotalLossTrend()).isEqualTo(1.0);
            assertThat(w0.getFirstStep()).isEqualTo(1L);
            assertThat(w0.getLastStep()).isEqualTo(3L);
            assertThat(w0.getConsecutiveBreaches()).isZero();

            h.pipe(step("run-1", "t-1", 5, 25_000, 0.5, 0.5, 1.0));
            MonitorEvent w1 = h.monitors.readValue();
            assertThat(w1.getWindowStartMs()).isEqualTo(Instant.ofEpochMilli(W));
            assertThat(w1.getLossRatio()).isEqualTo(4.0);
            assertThat(w1.getLossRatioEwma()).as("0.5 * 4 + 0.5 * 2").isEqualTo(3.0);
            assertThat(w1.getMeanTotalLoss()).isEqualTo(2.5);
            assertThat(w1.getTotalLossTrend()).as("one step has no trend").isNull();
            assertThat(h.alerts.isEmpty()).isTrue();
        }
    }

    @Test
    void shouldEmitEveryHoppingWindowAStepBelongsTo() {
        Thresholds hopping = tumbling().optLossWindowSize(Duration.ofMillis(2 * W)).build();
        try (MonitorHarness h = new MonitorHarness(hopping, stateDir)) {
            h.pipe(step("run-1", "t-1", 1, 15_000, 0.5, 1.0, 1.5));
            h.pipe(step("run-1", "t-1", 2, 100_000, 0.5, 1.0, 1.5));

            List<MonitorEvent> events = h.monitors.readValuesToList();
            assertThat(events).extracting(e -> e.getWindowStartMs().toEpochMilli())
                    .containsExactly(0L, W);
            assertThat(events).allSatisfy(e -> {
                assertThat(e.getRecords()).isEqualTo(1);
                assertThat(e.getLossRatio()).isEqualTo(2.0);
            });
        }
    }

    @Test
    void shouldRaiseExactlyOneAlertAfterMConsecutiveWindowsAboveTheBand() {
        try (MonitorHarness h = new MonitorHarness(tumbling().build(), stateDir)) {
            for (int k = 0; k < 5; k++) {
                window(h, k, 8.0);
            }
            window(h, 5, 2.0);
            window(h, 6, 2.0);

            List<Alert> alerts = h.alerts.readValuesToList();
            assertThat(alerts).hasSize(2);
            Alert firing = alerts.get(0);
            assertThat(firing.getType()).isEqualTo(AlertType.LOSS_RATIO_ABOVE_BAND);
            assertThat(firing.getState()).isEqualTo(AlertState.FIRING);
            assertThat(firing.getSeverity()).isEqualTo(AlertSeverity.WARNING);
            assertThat(firing.getObservedValue()).isEqualTo(8.0);
            assertThat(firing.getThreshold()).isEqualTo(4.0);
            assertThat(firing.getWindowStartMs()).as("the third breaching window").isEqualTo(Instant.ofEpochMilli(2 * W));
            assertThat(firing.getRunId()).isEqualTo("run-1");
            assertThat(firing.getTrainerId()).isEqualTo("t-1");
            Alert resolved = alerts.get(1);
            assertThat(resolved.getType()).isEqualTo(AlertType.LOSS_RATIO_ABOVE_BAND);
            assertThat(resolved.getState()).isEqualTo(AlertState.RESOLVED);
            assertThat(resolved.getWindowStartMs()).isEqualTo(Instant.ofEpochMilli(5 * W));

            assertThat(h.monitors.readValuesToList()).extracting(MonitorEvent::getConsecutiveBreaches)
                    .containsExactly(1, 2, 3, 4, 5, 0);
        }
    }

    @Test
    void shouldNotAlertWhenTheBreachIsInterruptedBeforeMWindows() {
        try (MonitorHarness h = new MonitorHarness(tumbling().build(), stateDir)) {
            window(h, 0, 0.25);
            window(h, 1, 0.25);
            window(h, 2, 1.0);
            window(h, 3, 0.25);
            window(h, 4, 0.25);
            // window 6, not 5: the gap breaks the streak as well
            window(h, 6, 0.25);
            window(h, 7, 1.0);

            assertThat(h.alerts.readValuesToList()).isEmpty();
            assertThat(h.monitors.readValuesToList()).extracting(MonitorEvent::getConsecutiveBreaches)
                    .containsExactly(1, 2, 0, 1, 2, 1);
        }
    }

    @Test
    void shouldRaiseOneBelowBandAlertWhenKdCollapses() {
        try (MonitorHarness h = new MonitorHarness(tumbling().optConsecutiveWindows(2).build(), stateDir)) {
            for (int k = 0; k < 4; k++) {
                window(h, k, 0.0);
            }
            window(h, 4, 1.0);

            List<Alert> alerts = h.alerts.readValuesToList();
            assertThat(alerts).extracting(Alert::getType, Alert::getState).containsExactly(
                    org.assertj.core.groups.Tuple.tuple(AlertType.LOSS_RATIO_BELOW_BAND, AlertState.FIRING));
            assertThat(alerts.get(0).getObservedValue()).isEqualTo(0.0);
            assertThat(alerts.get(0).getThreshold()).isEqualTo(0.5);
        }
    }

    @Test
    void shouldGiveALabelsOnlyBaselineNoRatioAndNoBandAlert() {
        try (MonitorHarness h = new MonitorHarness(tumbling().optConsecutiveWindows(2).build(), stateDir)) {
            // Given a baseline trainer: alpha 0 and no KD loss in every step, over five windows
            for (int k = 0; k < 5; k++) {
                for (int i = 1; i <= 3; i++) {
                    TrainingStep s = step("run-b", "baseline", k * 10L + i, k * W + i * 1000, 0.5, 0.0, 0.5);
                    s.setAlpha(0.0);
                    h.pipe(s);
                }
            }

            // Then its windows carry the losses but no ratio, and no band alert is raised
            List<MonitorEvent> events = h.monitors.readValuesToList();
            assertThat(events).isNotEmpty();
            assertThat(events).allSatisfy(e -> {
                assertThat(e.getLossRatio()).isNull();
                assertThat(e.getMeanTotalLoss()).isEqualTo(0.5);
            });
            assertThat(h.alerts.readValuesToList()).isEmpty();
        }
    }

    @Test
    void shouldRaiseOneNonFiniteAlertPerWindowNotPerStep() {
        try (MonitorHarness h = new MonitorHarness(tumbling().build(), stateDir)) {
            h.pipe(step("run-1", "t-1", 1, 1000, 0.5, 1.0, 1.5));
            h.pipe(step("run-1", "t-1", 2, 2000, Double.NaN, 1.0, Double.NaN));
            h.pipe(step("run-1", "t-1", 3, 3000, 0.5, Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY));
            h.pipe(step("run-1", "t-1", 4, 4000, Double.NaN, Double.NaN, Double.NaN));
            List<Alert> firstWindow = h.alerts.readValuesToList();
            assertThat(firstWindow).hasSize(1);
            Alert alert = firstWindow.get(0);
            assertThat(alert.getType()).isEqualTo(AlertType.NON_FINITE_LOSS);
            assertThat(alert.getSeverity()).isEqualTo(AlertSeverity.CRITICAL);
            assertThat(alert.getAttributes()).containsEntry("step", "2");
            assertThat(alert.getObservedValue()).isNaN();

            h.pipe(step("run-1", "t-1", 5, 11_000, Double.NaN, 1.0, Double.NaN));
            assertThat(h.alerts.readValuesToList()).as("next window alerts again").hasSize(1);

            MonitorEvent w0 = h.monitors.readValue();
            assertThat(w0.getRecords()).isEqualTo(4);
            assertThat(w0.getNonFiniteRecords()).isEqualTo(3);
            assertThat(w0.getLossRatio()).as("non-finite steps are left out of the sums").isEqualTo(2.0);
            assertThat(w0.getMeanTotalLoss()).isEqualTo(1.5);
        }
    }

    @Test
    void shouldKeepTrainersAndRunsApart() {
        try (MonitorHarness h = new MonitorHarness(tumbling().build(), stateDir)) {
            h.pipe(step("run-1", "t-1", 1, 1000, 0.5, 1.0, 1.5));
            h.pipe(step("run-1", "t-2", 1, 1000, 0.5, 0.5, 1.0));
            h.pipe(step("run-2", "t-1", 1, 1000, 1.0, 0.25, 1.25));
            h.pipe(step("run-1", "t-1", 2, 30_000, 0.5, 0.5, 1.0));
            h.pipe(step("run-1", "t-2", 2, 30_000, 0.5, 0.5, 1.0));
            h.pipe(step("run-2", "t-1", 2, 30_000, 0.5, 0.5, 1.0));

            List<MonitorEvent> events = h.monitors.readValuesToList();
            assertThat(events).extracting(MonitorEvent::getSubject, MonitorEvent::getLossRatio)
                    .containsExactlyInAnyOrder(
                            org.assertj.core.groups.Tuple.tuple("run-1/t-1", 2.0),
                            org.assertj.core.groups.Tuple.tuple("run-1/t-2", 1.0),
                            org.assertj.core.groups.Tuple.tuple("run-2/t-1", 0.25));
        }
    }
}
