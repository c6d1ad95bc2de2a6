package io.kdstream.streams;

import io.kdstream.core.kafka.Topics;

import java.util.Objects;

/**
 * The topics of the monitors.
 *
 * @param metrics  TrainingStep records of the trainers (input)
 * @param dlq      FailureEvent records (input of the failure-count monitor, and the monitor's own dead letters)
 * @param monitors MonitorEvent records, one per closed window (output)
 * @param alerts   Alert records (output)
 * @param runs     RunManifest records of the trainers (input: a run's final manifest closes its windows)
 */
public record MonitorTopics(String metrics, String dlq, String monitors, String alerts, String runs) {

    // the shared topic catalog's defaults (Topics.defaults(), core/common): one place for every default name
    public static final String DEFAULT_METRICS = Topics.defaults().metrics();
    public static final String DEFAULT_DLQ = Topics.defaults().dlq();
    public static final String DEFAULT_MONITORS = Topics.defaults().monitors();
    public static final String DEFAULT_ALERTS = Topics.defaults().alerts();
    public static final String DEFAULT_RUNS = Topics.defaults().runs();

    public MonitorTopics {
        requireName(metrics, "metrics");
        requireName(dlq, "dlq");
        requireName(monitors, "monitors");
        requireName(alerts, "alerts");
        requireName(runs, "runs");
        if (monitors.equals(metrics) || alerts.equals(metrics) || monitors.equals(dlq) || alerts.equals(dlq)
                || monitors.equals(runs) || alerts.equals(runs)) {
            throw new IllegalArgumentException("output topics must differ from the input topics: " + metrics + ", "
                    + dlq + ", " + runs + " -> " + monitors + ", " + alerts);
        }
        if (runs.equals(metrics) || runs.equals(dlq)) {
            throw new IllegalArgumentException("the runs topic must differ from the metrics and dead-letter topics: "
                    + runs);
        }
    }

    /** The topics with the default runs topic. */
    public MonitorTopics(String metrics, String dlq, String monitors, String alerts) {
        this(metrics, dlq, monitors, alerts, DEFAULT_RUNS);
    }

    /** The default topic names. */
    public static MonitorTopics defaults() {
        return new MonitorTopics(DEFAULT_METRICS, DEFAULT_DLQ, DEFAULT_MONITORS, DEFAULT_ALERTS, DEFAULT_RUNS);
    }

    private static void requireName(String name, String what) {
        Objects.requireNonNull(name, what);
        if (name.isBlank()) {
            throw new IllegalArgumentException(what + " topic name is blank");
        }
    }
}
