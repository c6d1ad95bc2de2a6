package io.kdstream.ops.report;

import io.kdstream.avro.Alert;
import io.kdstream.avro.EvalResult;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.MonitorEvent;
import io.kdstream.avro.RunManifest;
import io.kdstream.avro.TrainingStep;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a report is drawn from: the records the pipeline published (training steps, evaluations, dead letters,
 * monitor windows, alerts, run manifests), read back from their topics, plus facts the caller measured and the
 * configuration of the run.
 *
 * @param title         page title
 * @param generatedAt   when the report was made
 * @param facts         headline figures shown as a table at the top, in order (label → value)
 * @param notes         remarks shown under the headline (limitations of the run, what was injected, ...)
 * @param config        configuration table (key → value), in order
 * @param teacherAccuracy teacher test accuracy in [0, 1], drawn as a reference line on the accuracy chart; null if unknown
 * @param steps         {@code TrainingStep}s from the metrics topic
 * @param evals         {@code EvalResult}s from the eval topic
 * @param failures      {@code FailureEvent}s from the dead-letter topic
 * @param monitors      {@code MonitorEvent}s from the monitors topic
 * @param alerts        {@code Alert}s from the alerts topic
 * @param runs          {@code RunManifest}s from the runs topic
 */
public record PipelineData(String title, Instant generatedAt, Map<String, String> facts, List<String> notes,
                           Map<String, String> config, Double teacherAccuracy, List<TrainingStep> steps,
                           List<EvalResult> evals, List<FailureEvent> failures, List<MonitorEvent> monitors,
                           List<Alert> alerts, List<RunManifest> runs) {

    public PipelineData {
        Objects.requireNonNull(title, "title");
        Objects.requireNonNull(generatedAt, "generatedAt");
        facts = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(facts));
        notes = List.copyOf(notes);
        config = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(config));
        if (teacherAccuracy != null && !(teacherAccuracy >= 0 && teacherAccuracy <= 1)) {
            throw new IllegalArgumentException("teacherAccuracy must be in [0, 1], got " + teacherAccuracy);
        }
        steps = List.copyOf(steps);
        evals = List.copyOf(evals);
        failures = List.copyOf(failures);
        monitors = List.copyOf(monitors);
        alerts = List.copyOf(alerts);
        runs = List.copyOf(runs);
    }
}
