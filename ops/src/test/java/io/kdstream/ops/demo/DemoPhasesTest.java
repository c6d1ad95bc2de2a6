package io.kdstream.ops.demo;

import io.kdstream.avro.Alert;
import io.kdstream.avro.AlertSeverity;
import io.kdstream.avro.AlertState;
import io.kdstream.avro.AlertType;
import io.kdstream.avro.EvalResult;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.MonitorKind;
import io.kdstream.avro.TrainingStep;
import io.kdstream.core.KdException;
import io.kdstream.core.model.ModelStore;
import io.kdstream.ops.cli.ProgressBar;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The demo's phases where their logic needs no broker: order, notes, trainer settings, summaries, read-back checks. */
class DemoPhasesTest {

    private static final Instant T0 = Instant.parse("2026-12-03T10:00:00Z");
    private static final Map<String, Object> CONNECTION = StackPhase.connection("127.0.0.1:9092", "http://127.0.0.1:8081", 2);

    @Test
    void shouldNumberThePhasesInRunOrderWithTheResultKeys() {
        assertThat(Arrays.stream(DemoPhase.values()).map(DemoPhase::label))
                .containsExactly("stack", "topics", "ingest", "teacher", "serve", "students", "read back", "report");
        assertThat(DemoPhase.count()).isEqualTo(8);
        assertThat(DemoPhase.STACK.number()).isEqualTo(1);
        assertThat(DemoPhase.INGEST.number()).isEqualTo(3);
        assertThat(DemoPhase.REPORT.number()).isEqualTo(8);
    }

    @Test
    void shouldNoteTheQuickPlanAndTheMalformedInputsButNotForTheFullPlanItsSize() {
        List<String> quick = DemoNotes.forPlan(DemoPlan.quick());
        List<String> full = DemoNotes.forPlan(DemoPlan.full());

        assertThat(quick).hasSize(5);
        assertThat(quick.get(0)).contains("group of 2 trainers (group kd-demo-distill").contains("every 10 local steps")
                .contains("(constant:0.002;").contains("(group kd-demo-baseline)");
        assertThat(quick.get(1)).contains(": 5% of the training images");
        assertThat(quick.get(2)).startsWith("The 3 trainers run at once");
        assertThat(quick.get(3)).startsWith("10 malformed inputs");
        assertThat(quick.get(4)).isEqualTo("This is the 'quick' plan (6000 training images, 1 teacher epoch(s)): run "
                + "'kdstream demo' without --quick for the headline numbers.");
        assertThat(full).hasSize(4).noneMatch(n -> n.startsWith("This is the"));
    }

    @Test
    void shouldAcceptTheFullPlansTeacherForASmallerPlanOnly() {
        assertThat(TeacherPhase.acceptable(DemoPlan.quick(), 60_000)).containsExactly(
                TeacherCache.expectedTraining(DemoPlan.quick(), 60_000),
                TeacherCache.expectedTraining(DemoPlan.full(), 60_000));
        assertThat(TeacherPhase.acceptable(DemoPlan.full(), 60_000))
                .containsExactly(TeacherCache.expectedTraining(DemoPlan.full(), 60_000));
    }

    @Test
    void shouldConfigureTheDistillingGroupAndTheBaselineFromThePlan(@TempDir Path dir) {
        DemoSettings settings = settings(dir);

        TrainerConfig kd = StudentsPhase.trainerConfig(settings, CONNECTION, "run-kd", "kd-0", StudentsPhase.KD_GROUP,
                "stream");
        TrainerConfig baseline = StudentsPhase.trainerConfig(settings, CONNECTION, "run-b", "baseline-0",
                StudentsPhase.BASELINE_GROUP, "none");

        assertThat(kd.runId()).isEqualTo("run-kd");
        assertThat(kd.trainerId()).isEqualTo("kd-0");
        assertThat(kd.group()).isEqualTo("kd-demo-distill");
        assertThat(kd.getString(TrainerConfig.LEARNING_RATE_CONFIG)).isEqualTo(StudentsPhase.KD_GROUP_LEARNING_RATE);
        assertThat(kd.getString(TrainerConfig.CHECKPOINT_DIR_CONFIG))
                .isEqualTo(dir.resolve("data").resolve("runs").resolve("run-kd").toString());
        assertThat(baseline.group()).isEqualTo("kd-demo-baseline");
        assertThat(baseline.getString(TrainerConfig.LEARNING_RATE_CONFIG))
                .isEqualTo(new TrainerConfig(Map.of()).getString(TrainerConfig.LEARNING_RATE_CONFIG));
    }

    @Test
    void shouldSummariseAGroupFromItsMembersStepsAndLatestEvaluation(@TempDir Path dir) {
        DemoSettings settings = settings(dir);
        List<TrainerConfig> members = List.of(
                StudentsPhase.trainerConfig(settings, CONNECTION, "run-kd0", "kd-0", StudentsPhase.KD_GROUP, "stream"),
                StudentsPhase.trainerConfig(settings, CONNECTION, "run-kd1", "kd-1", StudentsPhase.KD_GROUP, "stream"));
        TrainerConfig baseline = StudentsPhase.trainerConfig(settings, CONNECTION, "run-b", "baseline-0",
                StudentsPhase.BASELINE_GROUP, "none");
        Map<String, Trainer.Result> results = Map.of("run-kd0", result("run-kd0", "sha", 0.5),
                "run-kd1", result("run-kd1", "sha", 0.5), "run-b", result("run-b", "shb", 0.7));
        List<TrainingStep> steps = List.of(step("run-kd0", 0), step("run-kd1", 500), step("run-kd0", 1_000),
                step("run-b", 0));
        List<EvalResult> evals = List.of(eval("run-kd0", 20, 0.81), eval("run-kd1", 40, 0.84), eval("run-kd0", 30, 0.82));

        List<DemoResult.StudentSummary> summaries = StudentSummaries.of(
                new StudentsPhase.Output(baseline, members, results), steps, evals);

        assertThat(summaries).hasSize(2);
        DemoResult.StudentSummary b = summaries.get(0);
        assertThat(b.role()).isEqualTo("baseline (labels only)");
        assertThat(b.accuracy()).isEqualTo(0.7); // no evaluation: the run's own
        assertThat(b.steps()).isEqualTo(1);
        assertThat(b.samplesPerSecond()).isZero();
        DemoResult.StudentSummary kd = summaries.get(1);
        assertThat(kd.role()).isEqualTo("distilled (KD, 2 trainers)");
        assertThat(kd.trainerId()).isEqualTo("kd-0, kd-1");
        assertThat(kd.runId()).isEqualTo("run-kd0");
        assertThat(kd.group()).isEqualTo("kd-demo-distill");
        assertThat(kd.accuracy()).isEqualTo(0.84); // the latest step of any member
        assertThat(kd.steps()).isEqualTo(3);
        assertThat(kd.samplesPerSecond()).isEqualTo(3 * 64 / 1.0);
        assertThat(kd.modelSha256()).isEqualTo("sha");
    }

    @Test
    void shouldRefuseAGroupWhoseMembersEndedWithDifferentModels() {
        TrainerConfig a = new TrainerConfig(Map.of(TrainerConfig.RUN_ID_CONFIG, "a"));
        TrainerConfig b = new TrainerConfig(Map.of(TrainerConfig.RUN_ID_CONFIG, "b"));

        StudentsPhase.requireOneGroupModel(List.of(a, b), Map.of("a", result("a", "x", null), "b", result("b", "x", null)));
        assertThatThrownBy(() -> StudentsPhase.requireOneGroupModel(List.of(a, b),
                Map.of("a", result("a", "x", null), "b", result("b", "y", null))))
                .isInstanceOf(KdException.class).hasMessageContaining("different models");
    }

    @Test
    void shouldCountDeadLettersByComponentAndKindAndSpotTheBaselinesBandAlert() {
        List<FailureEvent> failures = List.of(failure(FailureKind.DESERIALIZATION), failure(FailureKind.SHAPE),
                failure(FailureKind.DESERIALIZATION));

        assertThat(ReportPhase.deadLetters(failures)).containsExactly(
                Map.entry("teacher-service / DESERIALIZATION", 2L), Map.entry("teacher-service / SHAPE", 1L));
        assertThat(ReportPhase.baselineTrippedTheBand(List.of(bandAlert("run-b")), "run-b")).isTrue();
        assertThat(ReportPhase.baselineTrippedTheBand(List.of(bandAlert("run-kd")), "run-b")).isFalse();
        assertThat(ReportPhase.replayCommand(Path.of("/data/demo"), "run-kd")).isEqualTo(
                "kdstream up --data-dir /data/demo  # then, in another terminal: kdstream replay --run run-kd");
    }

    @Test
    void shouldSeeTheMonitorsCaughtUpOnlyWhenEveryNonEmptyPartitionIsCommittedAtItsEnd() {
        TopicPartition p0 = new TopicPartition("kd.metrics", 0);
        TopicPartition p1 = new TopicPartition("kd.metrics", 1);
        Map<TopicPartition, Long> end = Map.of(p0, 10L, p1, 0L);

        assertThat(ReadBackPhase.caughtUp(List.of(p0, p1), end, Map.of(p0, new OffsetAndMetadata(10)))).isTrue();
        assertThat(ReadBackPhase.caughtUp(List.of(p0, p1), end, Map.of(p0, new OffsetAndMetadata(9)))).isFalse();
        assertThat(ReadBackPhase.caughtUp(List.of(p0, p1), end, Map.of())).isFalse();
    }

    @Test
    void shouldReplaceAPreviousDemosDataAndMarkTheDirectory(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("data");
        Files.createDirectories(data.resolve("kafka"));
        Files.writeString(data.resolve(DemoRunner.MARKER_FILE), "x");
        Files.writeString(data.resolve("kafka").resolve("log"), "old");

        StackPhase.prepareDataDir(data);

        try (var entries = Files.list(data)) {
            assertThat(entries.map(p -> p.getFileName().toString())).containsExactly(DemoRunner.MARKER_FILE);
        }
    }

    private static DemoSettings settings(Path dir) {
        return new DemoSettings(DemoPlan.quick(), dir.resolve("data"), ModelStore.open(dir.resolve("models")),
                dir.resolve("fashion-mnist"), new PrintWriter(new StringWriter(), true),
                new DemoSettings.Progress(new PrintStream(PrintStream.nullOutputStream(), true, StandardCharsets.UTF_8),
                        ProgressBar.Mode.NONE), null);
    }

    private static Trainer.Result result(String runId, String sha, Double accuracy) {
        return new Trainer.Result(runId, true, sha, null, 0, 0, 0, 0, accuracy, null, null, 0);
    }

    private static TrainingStep step(String run, long millis) {
        return TrainingStep.newBuilder().setRunId(run).setTrainerId("t").setGroup("g").setStep(millis).setEpoch(0)
                .setTimestampMs(T0.plusMillis(millis)).setTaskLoss(1).setKdLoss(1).setFeatureLoss(0).setTotalLoss(1)
                .setTemperature(2).setAlpha(0.9).setLearningRate(1e-3).setSamples(64).setFailures(0)
                .setStepLatencyMs(1).build();
    }

    private static EvalResult eval(String run, long step, double accuracy) {
        return EvalResult.newBuilder().setRunId(run).setTrainerId("t").setStep(step).setTimestampMs(T0)
                .setDataset("fashion-mnist/test").setSamples(100).setStudentAccuracy(accuracy).build();
    }

    private static FailureEvent failure(FailureKind kind) {
        return FailureEvent.newBuilder().setComponent("teacher-service").setKind(kind).setMessage("m")
                .setTimestampMs(T0).setAttributes(Map.of()).build();
    }

    private static Alert bandAlert(String runId) {
        return Alert.newBuilder().setAlertId("a").setMonitor(MonitorKind.LOSS_RATIO)
                .setType(AlertType.LOSS_RATIO_BELOW_BAND).setState(AlertState.FIRING).setSeverity(AlertSeverity.WARNING)
                .setSubject(runId).setRunId(runId).setMessage("m").setEventTimeMs(T0).build();
    }
}
