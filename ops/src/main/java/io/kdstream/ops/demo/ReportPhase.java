package io.kdstream.ops.demo;

import io.kdstream.avro.Alert;
import io.kdstream.avro.AlertState;
import io.kdstream.avro.AlertType;
import io.kdstream.avro.FailureEvent;
import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.model.SavedModel;
import io.kdstream.ops.report.HtmlReport;
import io.kdstream.ops.report.PipelineData;
import io.kdstream.streams.MonitorConfig;
import io.kdstream.trainer.TrainerConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Phase 8: draws the summary (teacher, students, dead letters, alerts) from what the earlier phases measured and read
 * back, and writes the HTML report.
 */
final class ReportPhase {

    /** What the report is drawn from: the outputs of the earlier phases. */
    record Input(TeacherPhase.Output teacher, MonitorConfig monitorConfig, ServePhase.Output served,
                 StudentsPhase.Output students, ReadBackPhase.Output records) {
    }

    /**
     * @param teacher      the teacher and how it was obtained
     * @param students     the baseline, then the distilled student
     * @param deadLetters  dead letters by "component / kind"
     * @param alertsFiring alerts raised (state FIRING)
     * @param data         what the report was drawn from
     */
    record Output(DemoResult.TeacherSummary teacher, List<DemoResult.StudentSummary> students,
                  Map<String, Long> deadLetters, long alertsFiring, PipelineData data) {
    }

    private final DemoContext ctx;
    private final Path reportFile;

    ReportPhase(DemoContext ctx, Path reportFile) {
        this.ctx = ctx;
        this.reportFile = reportFile;
    }

    /** Writes the report; adds to {@code notes} what the records call for, before the report shows them. */
    Output run(Input in, List<String> notes) {
        ReadBackPhase.Output records = in.records();
        SavedModel teacherModel = in.teacher().model();
        ModelMetadata tm = teacherModel.metadata();
        DemoResult.TeacherSummary teacherSummary = new DemoResult.TeacherSummary(tm.architecture(), tm.parametersSha256(),
                tm.testAccuracy().orElse(null), in.teacher().cached(), teacherModel.dir());
        List<DemoResult.StudentSummary> students = StudentSummaries.of(in.students(), records.steps(), records.evals());
        long firing = records.alerts().stream().filter(a -> a.getState() == AlertState.FIRING).count();
        String baselineRun = in.students().baseline().runId();
        if (baselineTrippedTheBand(records.alerts(), baselineRun)) {
            notes.add(DemoNotes.baselineLossRatioAlert(baselineRun));
        }
        TrainerConfig kd = in.students().kd().get(0);
        Map<String, String> facts = SummaryTable.facts(teacherSummary, students, records.failures().size(), firing,
                in.served().served(), in.served().perSecond(), replayCommand(ctx.settings().dataDir(), kd.runId()));
        Map<String, String> configTable = configTable(ctx.settings().plan(), teacherModel, kd, in.monitorConfig(), ctx.settings().dataDir());
        PipelineData data = new PipelineData("kdstream demo (" + ctx.settings().plan().name() + ")", Instant.now(), facts, notes,
                configTable, tm.testAccuracy().orElse(null), records.steps(), records.evals(), records.failures(),
                records.monitorEvents(), records.alerts(), records.runs());
        writeReport(data);
        return new Output(teacherSummary, students, deadLetters(records.failures()), firing, data);
    }

    /** Dead letters by "component / kind", sorted. */
    static Map<String, Long> deadLetters(List<FailureEvent> failures) {
        Map<String, Long> dlq = new TreeMap<>();
        failures.forEach(f -> dlq.merge(f.getComponent() + " / " + f.getKind(), 1L, Long::sum));
        return dlq;
    }

    /** Whether the loss-ratio monitor raised its below-band alert for the labels-only baseline's run. */
    static boolean baselineTrippedTheBand(List<Alert> alerts, String baselineRunId) {
        return alerts.stream().anyMatch(a -> baselineRunId.equals(a.getRunId())
                && a.getType() == AlertType.LOSS_RATIO_BELOW_BAND);
    }

    /** The commands that re-train the distilled student from its manifest on this data directory. */
    static String replayCommand(Path dataDir, String runId) {
        return "kdstream up --data-dir " + dataDir + "  # then, in another terminal: kdstream replay --run " + runId;
    }

    /** The report's configuration table: the plan, the teacher, the students' training settings, the monitors. */
    static Map<String, String> configTable(DemoPlan plan, SavedModel teacherModel, TrainerConfig kd,
                                           MonitorConfig monitorConfig, Path dataDir) {
        Map<String, String> configTable = new LinkedHashMap<>(plan.describe());
        configTable.put("teacher.model", teacherModel.dir().toString());
        configTable.put("teacher.sha256", teacherModel.metadata().parametersSha256());
        kd.trainingSettings().forEach(configTable::put);
        configTable.put(MonitorConfig.LOSS_WINDOW_SIZE_MS_CONFIG, Long.toString(plan.lossWindow().toMillis()));
        configTable.put(MonitorConfig.LOSS_WINDOW_ADVANCE_MS_CONFIG, Long.toString(plan.lossAdvance().toMillis()));
        configTable.put(MonitorConfig.LOSS_WINDOW_GRACE_MS_CONFIG, Long.toString(plan.lossGrace().toMillis()));
        configTable.put(MonitorConfig.LOSS_RATIO_BAND_LOW_CONFIG, Double.toString(monitorConfig.thresholds().bandLow()));
        configTable.put(MonitorConfig.LOSS_RATIO_BAND_HIGH_CONFIG, Double.toString(monitorConfig.thresholds().bandHigh()));
        configTable.put("data.dir", dataDir.toString());
        return configTable;
    }

    private void writeReport(PipelineData data) {
        try {
            Path parent = reportFile.getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Path tmp = reportFile.resolveSibling(reportFile.getFileName() + ".tmp");
            Files.writeString(tmp, HtmlReport.render(data), StandardCharsets.UTF_8);
            Files.move(tmp, reportFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the report " + reportFile, e);
        }
    }
}
