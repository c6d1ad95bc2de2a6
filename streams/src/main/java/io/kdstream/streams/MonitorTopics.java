package io.kdstream.streams;

import java.util.Objects;

/**
 * The topics of the monitors.
 *
 * @param metrics  TrainingStep records of the trainers (input)
 * @param dlq      FailureEvent records (input of the failure-count monitor, and the monitor's own dead letters)
 * @param monitors MonitorEvent records, one per closed window (output)
 * @param alerts   Alert records (output)
 */
public record MonitorTopics(String metrics, String dlq, String monitors, String alerts) {

    public static final String DEFAULT_METRICS = "kd.metrics";
    public static final String DEFAULT_DLQ = "kd.dlq";
    public static final String DEFAULT_MONITORS = "kd.monitors";
    public static final String DEFAULT_ALERTS = "kd.alerts";

    public MonitorTopics {
        requireName(metrics, "metrics");
        requireName(dlq, "dlq");
        requireName(monitors, "monitors");
        requireName(alerts, "alerts");
        if (monitors.equals(metrics) || alerts.equals(metrics) || monitors.equals(dlq) || alerts.equals(dlq)) {
            throw new IllegalArgumentException("output topics must differ from the input topics: " + metrics + ", "
                    + dlq + " -> " + monitors + ", " + alerts);
        }
    }

    /** The default topic names. */
    public static MonitorTopics defaults() {
        return new MonitorTopics(DEFAULT_METRICS, DEFAULT_DLQ, DEFAULT_MONITORS, DEFAULT_ALERTS);
    }

    private static void requireName(String name, String what) {
        Objects.requireNonNull(name, what);
        if (name.isBlank()) {
            throw new IllegalArgumentException(what + " topic name is blank");
        }
    }
}
