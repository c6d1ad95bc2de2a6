package io.kdstream.streams.internals;

import io.kdstream.avro.Alert;
import io.kdstream.avro.AlertSeverity;
import io.kdstream.avro.AlertState;
import io.kdstream.avro.AlertType;
import io.kdstream.avro.MonitorKind;
import io.kdstream.avro.TrainingStep;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** Builds the monitors' Alert records. */
public final class Alerts {

    private Alerts() {
    }

    private static String id(AlertType type, AlertState state, String subject, long eventTimeMs) {
        return type + "|" + state + "|" + subject + "|" + eventTimeMs;
    }

    /** The loss ratio left the band (FIRING) or came back (RESOLVED). */
    public static Alert lossRatioBand(SubjectKey key, AlertType type, AlertState state, Double ratio,
                                      double bound, long windowStartMs, long windowEndMs, int streak) {
        String subject = key.display();
        String side = type == AlertType.LOSS_RATIO_ABOVE_BAND ? "above the band's high bound"
                : "below the band's low bound";
        String message = state == AlertState.FIRING
                ? "KD/task loss ratio " + ratio + " " + side + " " + bound + " for " + streak
                        + " consecutive windows (run " + key.first() + ", trainer " + key.second() + ")"
                : "KD/task loss ratio " + ratio + " is no longer " + side + " " + bound + " (run " + key.first()
                        + ", trainer " + key.second() + ")";
        Map<String, String> attributes = new LinkedHashMap<>();
        attributes.put("consecutiveWindows", Integer.toString(streak));
        return Alert.newBuilder()
                .setAlertId(id(type, state, subject, windowEndMs))
                .setMonitor(MonitorKind.LOSS_RATIO)
                .setType(type)
                .setState(state)
                .setSeverity(state == AlertState.FIRING ? AlertSeverity.WARNING : AlertSeverity.INFO)
                .setSubject(subject)
                .setRunId(key.first())
                .setTrainerId(key.second())
                .setMessage(message)
                .setObservedValue(ratio)
                .setThreshold(bound)
                .setWindowStartMs(Instant.ofEpochMilli(windowStartMs))
                .setWindowEndMs(Instant.ofEpochMilli(windowEndMs))
                .setEventTimeMs(Instant.ofEpochMilli(windowEndMs))
                .setAttributes(attributes)
                .build();
    }

    /** A training step reported a NaN or infinite loss. */
    public static Alert nonFiniteLoss(SubjectKey key, TrainingStep step, long timestampMs) {
        Map<String, String> attributes = new LinkedHashMap<>();
        attributes.put("step", Long.toString(step.getStep()));
        attributes.put("taskLoss", Double.toString(step.getTaskLoss()));
        attributes.put("kdLoss", Double.toString(step.getKdLoss()));
        attributes.put("featureLoss", Double.toString(step.getFeatureLoss()));
        attributes.put("totalLoss", Double.toString(step.getTotalLoss()));
        double observed = firstNonFinite(step);
        String subject = key.display();
        return Alert.newBuilder()
                .setAlertId(id(AlertType.NON_FINITE_LOSS, AlertState.FIRING, subject, timestampMs))
                .setMonitor(MonitorKind.LOSS_RATIO)
                .setType(AlertType.NON_FINITE_LOSS)
                .setState(AlertState.FIRING)
                .setSeverity(AlertSeverity.CRITICAL)
                .setSubject(subject)
                .setRunId(key.first())
                .setTrainerId(key.second())
                .setMessage("non-finite loss at step " + step.getStep() + " (task " + step.getTaskLoss() + ", KD "
                        + step.getKdLoss() + ", feature " + step.getFeatureLoss() + ", total "
                        + step.getTotalLoss() + ") of run " + key.first() + ", trainer " + key.second())
                .setObservedValue(observed)
                .setEventTimeMs(Instant.ofEpochMilli(timestampMs))
                .setAttributes(attributes)
                .build();
    }

    private static double firstNonFinite(TrainingStep step) {
        for (double v : new double[] {step.getTaskLoss(), step.getKdLoss(), step.getFeatureLoss(),
            step.getTotalLoss()}) {
            if (!Double.isFinite(v)) {
                return v;
            }
        }
        return Double.NaN;
    }

    /** Dead-lettered records of one component and kind reached the threshold within a window. */
    public static Alert failureThreshold(SubjectKey key, long count, long threshold, long windowStartMs,
                                         long windowEndMs) {
        String subject = key.display();
        return Alert.newBuilder()
                .setAlertId(id(AlertType.FAILURE_THRESHOLD, AlertState.FIRING, subject, windowStartMs))
                .setMonitor(MonitorKind.FAILURE_COUNT)
                .setType(AlertType.FAILURE_THRESHOLD)
                .setState(AlertState.FIRING)
                .setSeverity(AlertSeverity.CRITICAL)
                .setSubject(subject)
                .setComponent(key.first())
                .setFailureKind(key.second())
                .setMessage(count + " " + key.second() + " failures in " + key.first() + " within the window ["
                        + Instant.ofEpochMilli(windowStartMs) + ", " + Instant.ofEpochMilli(windowEndMs)
                        + "), threshold " + threshold)
                .setObservedValue((double) count)
                .setThreshold((double) threshold)
                .setWindowStartMs(Instant.ofEpochMilli(windowStartMs))
                .setWindowEndMs(Instant.ofEpochMilli(windowEndMs))
                .setEventTimeMs(Instant.ofEpochMilli(windowStartMs))
                .build();
    }

    /** A trainer went silent (FIRING) or sent a step again (RESOLVED). */
    public static Alert stale(String trainerId, TrainerActivity activity, AlertState state, long silenceMs,
                              long thresholdMs, long nowMs) {
        Map<String, String> attributes = new LinkedHashMap<>();
        attributes.put("lastStep", Long.toString(activity.lastStep()));
        attributes.put("lastStepTimeMs", Long.toString(activity.lastStepTimeMs()));
        String message = state == AlertState.FIRING
                ? "trainer " + trainerId + " (run " + activity.runId() + ") sent no step for " + silenceMs
                        + " ms (threshold " + thresholdMs + " ms); last step " + activity.lastStep()
                : "trainer " + trainerId + " (run " + activity.runId() + ") is sending steps again after "
                        + silenceMs + " ms";
        return Alert.newBuilder()
                .setAlertId(id(AlertType.TRAINER_STALE, state, trainerId, nowMs))
                .setMonitor(MonitorKind.STALENESS)
                .setType(AlertType.TRAINER_STALE)
                .setState(state)
                .setSeverity(state == AlertState.FIRING ? AlertSeverity.WARNING : AlertSeverity.INFO)
                .setSubject(trainerId)
                .setRunId(activity.runId())
                .setTrainerId(trainerId)
                .setMessage(message)
                .setObservedValue((double) silenceMs)
                .setThreshold((double) thresholdMs)
                .setEventTimeMs(Instant.ofEpochMilli(nowMs))
                .setAttributes(attributes)
                .build();
    }
}
