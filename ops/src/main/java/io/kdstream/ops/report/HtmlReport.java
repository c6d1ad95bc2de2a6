package io.kdstream.ops.report;

import io.kdstream.avro.Alert;
import io.kdstream.avro.EvalResult;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.MonitorEvent;
import io.kdstream.avro.MonitorKind;
import io.kdstream.avro.RunManifest;
import io.kdstream.avro.TrainingStep;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Renders a {@link PipelineData} as one self-contained HTML page: headline figures, loss curves per trainer, task loss
 * of all trainers side by side, the KD/task loss ratio per monitor window, accuracy over steps, dead letters by
 * component and kind, alerts, runs and the configuration. Charts are inline SVG written here; the page has no
 * script and fetches nothing.
 */
public final class HtmlReport {

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'", Locale.ROOT)
            .withZone(ZoneOffset.UTC);

    private HtmlReport() {
    }

    /** The page. */
    public static String render(PipelineData data) {
        StringBuilder sb = new StringBuilder(64 * 1024);
        sb.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
                .append("<title>").append(Svg.escape(data.title())).append("</title><style>")
                .append("body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;")
                .append("margin:24px auto;max-width:1120px;color:#222;background:#fff}")
                .append("h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ddd}")
                .append("table{border-collapse:collapse;margin:8px 0;font-size:13px}")
                .append("th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}")
                .append("th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}")
                .append("code{font-size:12px;word-break:break-all}.muted{color:#666;font-size:13px}")
                .append("svg.kd-chart{display:block;margin:12px 0;max-width:100%;height:auto}")
                .append("</style></head><body>\n");
        sb.append("<h1>").append(Svg.escape(data.title())).append("</h1>");
        sb.append("<p class=\"muted\">Generated ").append(TIME.format(data.generatedAt()))
                .append(" from the records on the pipeline's topics.</p>\n");

        sb.append("<h2 id=\"summary\">Summary</h2>");
        keyValueTable(sb, "kd-facts", data.facts());
        if (!data.notes().isEmpty()) {
            sb.append("<ul class=\"kd-notes\">");
            data.notes().forEach(n -> sb.append("<li>").append(Svg.escape(n)).append("</li>"));
            sb.append("</ul>");
        }

        Map<String, List<TrainingStep>> byTrainer = stepsByTrainer(data.steps());
        sb.append("\n<h2 id=\"losses\">Loss curves</h2>");
        sb.append("<p class=\"muted\">Per training step, from the metrics topic. The total loss is what was "
                + "back-propagated: (1 − α)·task + α·KD for a distilling trainer, the task loss alone for the baseline.</p>");
        if (byTrainer.isEmpty()) {
            sb.append(LineChart.builder().setId("loss-none").setTitle("Loss per step").build().render());
        }
        int index = 0;
        for (Map.Entry<String, List<TrainingStep>> e : byTrainer.entrySet()) {
            List<TrainingStep> steps = e.getValue();
            LineChart.Builder chart = LineChart.builder().setId("loss-" + index++)
                    .setTitle("Loss per step: " + e.getKey()).optAxisLabels("step", "loss");
            boolean taskOnly = steps.stream().allMatch(s -> s.getTotalLoss() == s.getTaskLoss()
                    || Double.isNaN(s.getTotalLoss()) && Double.isNaN(s.getTaskLoss()));
            if (taskOnly) {
                chart.addSeries(series("total = task (cross-entropy)", steps, TrainingStep::getTotalLoss));
            } else {
                chart.addSeries(series("total", steps, TrainingStep::getTotalLoss))
                        .addSeries(series("task (cross-entropy)", steps, TrainingStep::getTaskLoss));
            }
            if (steps.stream().anyMatch(s -> s.getKdLoss() != 0)) {
                chart.addSeries(series("KD", steps, TrainingStep::getKdLoss));
            }
            if (steps.stream().anyMatch(s -> s.getFeatureLoss() != 0)) {
                chart.addSeries(series("feature", steps, TrainingStep::getFeatureLoss));
            }
            sb.append(chart.build().render());
        }
        if (byTrainer.size() > 1) {
            LineChart.Builder task = LineChart.builder().setId("task-loss").setTitle("Task loss (cross-entropy), all trainers")
                    .optAxisLabels("step", "task loss");
            byTrainer.forEach((k, v) -> task.addSeries(series(k, v, TrainingStep::getTaskLoss)));
            sb.append(task.build().render());
        }

        sb.append("\n<h2 id=\"loss-ratio\">KD / task loss ratio over time</h2>");
        sb.append("<p class=\"muted\">From the loss-ratio monitor's closed windows on the monitors topic: the sum of KD "
                + "losses over the sum of task losses in each event-time window, and its moving average. x is the window "
                + "end in seconds after the first window started.</p>");
        sb.append(lossRatioChart(data.monitors()).render());

        sb.append("\n<h2 id=\"accuracy\">Accuracy over steps</h2>");
        sb.append("<p class=\"muted\">Student top-1 accuracy on the held-out set, from the evaluation topic.</p>");
        LineChart.Builder acc = LineChart.builder().setId("accuracy").setTitle("Held-out accuracy")
                .optAxisLabels("step", "accuracy");
        evalsByTrainer(data.evals()).forEach((k, v) -> acc.addSeries(
                seriesOf(k, v, EvalResult::getStep, EvalResult::getStudentAccuracy)));
        if (data.teacherAccuracy() != null) {
            acc.addGuide("teacher", data.teacherAccuracy());
        }
        sb.append(acc.build().render());
        evalTable(sb, data.evals());

        sb.append("\n<h2 id=\"dead-letters\">Dead letters</h2>");
        sb.append("<p class=\"muted\">Records that a stage could not process, from the dead-letter topic, by component "
                + "and failure kind. Each keeps its reason and original bytes.</p>");
        sb.append(BarChart.of("dlq", "Dead letters by component and kind", dlqCounts(data.failures()),
                "no dead letters").render());
        failureTable(sb, data.failures());

        sb.append("\n<h2 id=\"alerts\">Alerts</h2>");
        alertTable(sb, data.alerts());

        sb.append("\n<h2 id=\"runs\">Runs</h2>");
        runTable(sb, data.runs());

        sb.append("\n<h2 id=\"config\">Configuration</h2>");
        keyValueTable(sb, "kd-config", data.config());
        sb.append("\n</body></html>\n");
        return sb.toString();
    }

    /** Steps grouped by trainer (label: trainer id, plus the run id when a trainer ran more than once), by step. */
    static Map<String, List<TrainingStep>> stepsByTrainer(List<TrainingStep> steps) {
        Map<String, java.util.Set<String>> runsOfTrainer = new TreeMap<>();
        for (TrainingStep s : steps) {
            runsOfTrainer.computeIfAbsent(s.getTrainerId(), k -> new java.util.TreeSet<>()).add(s.getRunId());
        }
        Map<String, List<TrainingStep>> out = new TreeMap<>();
        for (TrainingStep s : steps) {
            String label = runsOfTrainer.get(s.getTrainerId()).size() > 1
                    ? s.getTrainerId() + " / " + shortId(s.getRunId()) : s.getTrainerId();
            out.computeIfAbsent(label, k -> new ArrayList<>()).add(s);
        }
        out.values().forEach(l -> l.sort(Comparator.comparingLong(TrainingStep::getStep)));
        return out;
    }

    static Map<String, List<EvalResult>> evalsByTrainer(List<EvalResult> evals) {
        Map<String, List<EvalResult>> out = new TreeMap<>();
        for (EvalResult e : evals) {
            out.computeIfAbsent(e.getTrainerId(), k -> new ArrayList<>()).add(e);
        }
        out.values().forEach(l -> l.sort(Comparator.comparingLong(EvalResult::getStep)));
        return out;
    }

    /** The loss-ratio chart: the ratio and its moving average per run and trainer, one point per closed window. */
    static LineChart lossRatioChart(List<MonitorEvent> events) {
        Map<String, MonitorEvent> latestPerWindow = new LinkedHashMap<>();
        Instant origin = null;
        for (MonitorEvent m : events) {
            if (m.getMonitor() != MonitorKind.LOSS_RATIO) {
                continue;
            }
            latestPerWindow.put(m.getSubject() + "@" + m.getWindowStartMs().toEpochMilli(), m);
            if (origin == null || m.getWindowStartMs().isBefore(origin)) {
                origin = m.getWindowStartMs();
            }
        }
        Map<String, List<MonitorEvent>> bySubject = new TreeMap<>();
        for (MonitorEvent m : latestPerWindow.values()) {
            bySubject.computeIfAbsent(m.getTrainerId() != null ? m.getTrainerId() : m.getSubject(), k -> new ArrayList<>()).add(m);
        }
        LineChart.Builder chart = LineChart.builder().setId("loss-ratio-chart").setTitle("KD / task loss ratio per window")
                .optAxisLabels("seconds (window end)", "KD loss / task loss");
        for (Map.Entry<String, List<MonitorEvent>> e : bySubject.entrySet()) {
            List<MonitorEvent> windows = e.getValue();
            windows.sort(Comparator.comparing(MonitorEvent::getWindowEndMs));
            long t0 = origin.toEpochMilli();
            Series.Builder ratio = Series.builder(e.getKey() + " ratio");
            Series.Builder ewma = Series.builder(e.getKey() + " moving average");
            for (MonitorEvent m : windows) {
                double x = (m.getWindowEndMs().toEpochMilli() - t0) / 1000.0;
                if (m.getLossRatio() != null) {
                    ratio.add(x, m.getLossRatio());
                }
                if (m.getLossRatioEwma() != null) {
                    ewma.add(x, m.getLossRatioEwma());
                }
            }
            chart.addSeries(ratio.build()).addSeries(ewma.build());
        }
        return chart.build();
    }

    static Map<String, Long> dlqCounts(List<FailureEvent> failures) {
        Map<String, Long> counts = new TreeMap<>();
        for (FailureEvent f : failures) {
            counts.merge(f.getComponent() + " / " + f.getKind(), 1L, Long::sum);
        }
        return counts;
    }

    private static Series series(String name, List<TrainingStep> steps, java.util.function.ToDoubleFunction<TrainingStep> y) {
        Series.Builder b = Series.builder(name);
        steps.forEach(s -> b.add(s.getStep(), y.applyAsDouble(s)));
        return b.build();
    }

    private static <T> Series seriesOf(String name, List<T> items, java.util.function.ToDoubleFunction<T> x,
                                       java.util.function.ToDoubleFunction<T> y) {
        Series.Builder b = Series.builder(name);
        items.forEach(i -> b.add(x.applyAsDouble(i), y.applyAsDouble(i)));
        return b.build();
    }

    private static void keyValueTable(StringBuilder sb, String cssClass, Map<String, String> rows) {
        if (rows.isEmpty()) {
            sb.append("<p class=\"muted\">none</p>");
            return;
        }
        sb.append("<table class=\"").append(cssClass).append("\"><tbody>");
        rows.forEach((k, v) -> sb.append("<tr><th>").append(Svg.escape(k)).append("</th><td><code>")
                .append(Svg.escape(v)).append("</code></td></tr>"));
        sb.append("</tbody></table>");
    }

    private static void evalTable(StringBuilder sb, List<EvalResult> evals) {
        Map<String, EvalResult> last = new TreeMap<>();
        for (EvalResult e : evals) {
            last.merge(e.getTrainerId(), e, (a, b) -> b.getStep() >= a.getStep() ? b : a);
        }
        if (last.isEmpty()) {
            sb.append("<p class=\"muted\">no evaluation results</p>");
            return;
        }
        sb.append("<table class=\"kd-eval\"><thead><tr><th>trainer</th><th>run</th><th>last step</th><th>accuracy</th>"
                + "<th>held-out set</th></tr></thead><tbody>");
        for (EvalResult e : last.values()) {
            sb.append("<tr><td>").append(Svg.escape(e.getTrainerId())).append("</td><td><code>")
                    .append(Svg.escape(e.getRunId())).append("</code></td><td class=\"num\">").append(e.getStep())
                    .append("</td><td class=\"num\">").append(String.format(Locale.ROOT, "%.2f%%", 100 * e.getStudentAccuracy()))
                    .append("</td><td>").append(Svg.escape(e.getDataset())).append(" (").append(e.getSamples())
                    .append(" images)</td></tr>");
        }
        sb.append("</tbody></table>");
    }

    private static void failureTable(StringBuilder sb, List<FailureEvent> failures) {
        if (failures.isEmpty()) {
            return;
        }
        int shown = Math.min(20, failures.size());
        sb.append("<table class=\"kd-failures\"><thead><tr><th>time</th><th>component</th><th>kind</th><th>reason</th>"
                + "</tr></thead><tbody>");
        for (FailureEvent f : failures.subList(0, shown)) {
            sb.append("<tr><td>").append(TIME.format(f.getTimestampMs())).append("</td><td>")
                    .append(Svg.escape(f.getComponent())).append("</td><td>").append(f.getKind()).append("</td><td>")
                    .append(Svg.escape(truncate(f.getMessage(), 300))).append("</td></tr>");
        }
        sb.append("</tbody></table>");
        if (shown < failures.size()) {
            sb.append("<p class=\"muted\">first ").append(shown).append(" of ").append(failures.size()).append(" shown</p>");
        }
    }

    private static void alertTable(StringBuilder sb, List<Alert> alerts) {
        if (alerts.isEmpty()) {
            sb.append("<p class=\"kd-no-alerts\">No alert was raised.</p>");
            return;
        }
        sb.append("<table class=\"kd-alerts\"><thead><tr><th>time</th><th>type</th><th>state</th><th>severity</th>"
                + "<th>subject</th><th>message</th></tr></thead><tbody>");
        for (Alert a : alerts) {
            sb.append("<tr><td>").append(TIME.format(a.getEventTimeMs())).append("</td><td>").append(a.getType())
                    .append("</td><td>").append(a.getState()).append("</td><td>").append(a.getSeverity())
                    .append("</td><td>").append(Svg.escape(a.getSubject())).append("</td><td>")
                    .append(Svg.escape(truncate(a.getMessage(), 300))).append("</td></tr>");
        }
        sb.append("</tbody></table>");
    }

    private static void runTable(StringBuilder sb, List<RunManifest> runs) {
        Map<String, RunManifest> latest = new LinkedHashMap<>();
        runs.forEach(r -> latest.put(r.getRunId(), r));
        if (latest.isEmpty()) {
            sb.append("<p class=\"muted\">no run manifests</p>");
            return;
        }
        sb.append("<table class=\"kd-runs\"><thead><tr><th>run id</th><th>trainer</th><th>group</th><th>status</th>"
                + "<th>student</th><th>teacher</th><th>seed</th><th>records</th><th>final model sha256</th></tr></thead><tbody>");
        for (RunManifest r : latest.values()) {
            long records = r.getRanges().stream().mapToLong(p -> p.getEndOffset() - p.getStartOffset()).sum();
            String trainer = r.getConfig().getOrDefault("trainer.id", "");
            String teacher = r.getConfig().getOrDefault("trainer.teacher", "");
            sb.append("<tr><td><code>").append(Svg.escape(r.getRunId())).append("</code></td><td>")
                    .append(Svg.escape(trainer)).append("</td><td>").append(Svg.escape(r.getGroup())).append("</td><td>")
                    .append(r.getStatus()).append("</td><td>").append(Svg.escape(r.getStudentArchitecture()))
                    .append("</td><td>").append(Svg.escape(teacher)).append("</td><td class=\"num\">").append(r.getSeed())
                    .append("</td><td class=\"num\">").append(String.format(Locale.ROOT, "%,d", records))
                    .append("</td><td><code>")
                    .append(Svg.escape(r.getFinalModelSha256() == null ? "" : r.getFinalModelSha256()))
                    .append("</code></td></tr>");
        }
        sb.append("</tbody></table>");
    }

    static String shortId(String id) {
        return id.length() > 8 ? id.substring(0, 8) : id;
    }

    private static String truncate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max) + "…";
    }
}
