package io.kdstream.it;

import io.kdstream.core.config.KdConfig;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.model.ModelStore;
import io.kdstream.ops.cli.ProgressBar;
import io.kdstream.ops.demo.DemoPlan;
import io.kdstream.ops.demo.DemoResult;
import io.kdstream.ops.demo.DemoRunner;
import io.kdstream.it.support.LedgerCheck;
import io.kdstream.trainer.Replay;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.run.Ledger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code kdstream demo --quick} end to end on an in-process local stack: every phase runs, the summary figures come
 * from the topics, and the report shows what the pipeline published. The teacher is cached under
 * {@code target/demo-it-models}, so a rerun skips its training.
 */
class DemoQuickIT {

    @TempDir
    static Path dir;
    private static DemoRunner runner;
    private static DemoResult result;
    private static Replay.Outcome replay;
    /** The teacher-outputs topic as the broker holds it, read before the stack stops. */
    private static Map<Integer, LedgerCheck.Partition> teacherOutputs;
    private static final StringWriter CONSOLE = new StringWriter();

    @BeforeAll
    static void runQuickDemo() {
        assumeTrue(Files.isDirectory(FashionMnist.DEFAULT_DIR), "Fashion-MNIST is not installed");
        // Given a fresh data directory and a teacher cache kept between builds
        runner = DemoRunner.builder()
                .setPlan(DemoPlan.quick())
                .setDataDir(dir.resolve("data"))
                .setReportFile(dir.resolve("report.html"))
                .optModelStore(ModelStore.open(Path.of("target", "demo-it-models").toAbsolutePath()))
                .optConsole(new PrintWriter(CONSOLE, true))
                .optProgress(new PrintStream(PrintStream.nullOutputStream(), true, StandardCharsets.UTF_8), ProgressBar.Mode.NONE)
                .build();
        // When the quick demo runs, and the distilled student is replayed on its stack as the summary says
        result = runner.run();
        Map<String, Object> connection = runner.connection();
        String runId = result.distilled().orElseThrow().runId();
        // (what the students trained on, read independently of the trainers while the broker still runs)
        KdConfig stackConfig = new KdConfig(connection);
        teacherOutputs = LedgerCheck.held(stackConfig, stackConfig.topics().teacherOutputs());
        // (with a garbage collection every few milliseconds: memory the engine still reads must not be freed under it)
        java.util.concurrent.atomic.AtomicBoolean replayed = new java.util.concurrent.atomic.AtomicBoolean();
        Thread collector = new Thread(() -> {
            while (!replayed.get()) {
                System.gc();
                try {
                    Thread.sleep(3);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "gc-every-3ms");
        collector.setDaemon(true);
        collector.start();
        try {
            replay = Replay.run(Replay.findManifest(new KdConfig(connection), runId), connection, dir.resolve("replay"));
        } finally {
            replayed.set(true);
        }
        runner.close();
    }

    @AfterAll
    static void stop() {
        if (runner != null) {
            runner.close();
        }
    }

    @Test
    void shouldRunEveryPhaseAndTrainBothStudentsOverTheWholeTopic() {
        assertThat(result.phaseSeconds()).containsOnlyKeys("stack", "topics", "ingest", "teacher", "serve", "students",
                "read back", "report");
        assertThat(CONSOLE.toString()).contains("[8/8] writing the report");
        DemoPlan plan = DemoPlan.quick();
        assertThat(result.teacherServed()).isEqualTo(plan.trainImages() + plan.badRecords());
        assertThat(result.students()).hasSize(2);
        for (DemoResult.StudentSummary s : result.students()) {
            assertThat(s.modelSha256()).matches("[0-9a-f]{64}");
            assertThat(s.samplesPerSecond()).isPositive();
        }
        // the group's members each end an epoch with a partial batch of their own partition
        DemoResult.StudentSummary distilled = result.distilled().orElseThrow();
        assertThat(distilled.steps()).isBetween(plan.studentSteps(),
                plan.studentSteps() + (long) plan.studentEpochs() * (plan.partitions() - 1));
        // the baseline learns from the labelled images alone
        long labelledBatches = (result.labelledImages() + plan.batchSize() - 1) / plan.batchSize();
        DemoResult.StudentSummary baseline = result.baseline().orElseThrow();
        assertThat(baseline.steps()).isBetween(plan.studentEpochs() * labelledBatches,
                plan.studentEpochs() * (labelledBatches + 1));
        assertThat(result.teacher().accuracy()).isBetween(0.5, 1.0);
        assertThat(baseline.accuracy()).isBetween(0.3, 1.0);
        assertThat(distilled.accuracy()).isBetween(0.5, 1.0);
    }

    @Test
    void shouldTrainTheDistilledStudentWithTwoTrainersInOneGroupOnEveryRecordOncePerEpoch() {
        DemoPlan plan = DemoPlan.quick();
        DemoResult.StudentSummary distilled = result.distilled().orElseThrow();
        assertThat(distilled.trainerId()).isEqualTo("kd-0, kd-1");
        var steps = result.data().steps().stream().filter(s -> s.getGroup().equals(distilled.group())).toList();
        assertThat(steps).extracting(s -> s.getTrainerId()).containsOnly("kd-0", "kd-1").contains("kd-0", "kd-1");
        assertThat(steps.stream().mapToLong(s -> s.getSamples()).sum())
                .isEqualTo((long) plan.studentEpochs() * plan.trainImages());
        assertThat(steps).extracting(s -> s.getEpoch()).containsOnly(0, 1);
        var baseline = result.students().get(0);
        assertThat(baseline.group()).isNotEqualTo(distilled.group());
        assertThat(result.data().steps().stream().filter(s -> s.getGroup().equals(baseline.group()))
                .mapToLong(s -> s.getSamples()).sum()).isEqualTo(plan.studentEpochs() * result.labelledImages());

        // record by record, not as a sum (where a duplicate and a loss cancel out): the group ledger of each member
        // (under DATA_DIR/runs/RUN_ID) names every record the teacher-outputs topic holds, read from the broker,
        // exactly once per epoch, no offset twice and none beyond the end; the two members' ledgers agree
        assertThat(teacherOutputs).hasSize(plan.partitions());
        assertThat(teacherOutputs.values().stream().mapToLong(p -> p.records().size()).sum())
                .as("records on the teacher-outputs topic").isEqualTo(plan.trainImages());
        List<String> ledger = null;
        List<String> memberRuns = steps.stream().map(s -> s.getRunId().toString()).distinct().sorted().toList();
        assertThat(memberRuns).hasSize(2).contains(distilled.runId());
        for (String runId : memberRuns) {
            Path ledgerFile = result.dataDir().resolve("runs").resolve(runId).resolve(Trainer.LEDGER_FILE);
            assertThat(ledgerFile).as("ledger of group member run " + runId).isRegularFile();
            assertThat(LedgerCheck.assertEveryRecordOncePerEpoch(Ledger.read(ledgerFile), teacherOutputs, plan.studentEpochs()))
                    .isEqualTo(plan.trainImages());
            List<String> lines = readLines(ledgerFile);
            if (ledger != null) {
                assertThat(lines).as("ledger of group member run " + runId).isEqualTo(ledger);
            }
            ledger = lines;
        }
    }

    private static List<String> readLines(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void shouldDistilAStudentAheadOfItsLabelsOnlyBaselineOnAMostlyUnlabelledStream() {
        DemoPlan plan = DemoPlan.quick();
        // about one image in twenty keeps its label
        assertThat((double) result.labelledImages() / plan.trainImages()).isBetween(0.03, 0.07);
        // the quick plan's teacher is weak (one epoch on 6,000 images), yet with 5% of the labels it still teaches: the
        // measured margin is 17 pp (seed 42), far above the noise of one run
        assertThat(result.gainPoints()).hasValueSatisfying(g -> assertThat(g).isGreaterThan(5.0));
        assertThat(io.kdstream.ops.demo.SummaryTable.render(result)).contains("distillation gain: +");
    }

    @Test
    void shouldReplayTheDistilledGroupStudentBitForBit() {
        DemoResult.StudentSummary distilled = result.distilled().orElseThrow();
        assertThat(replay.original().getGroup()).isEqualTo(distilled.group());
        assertThat(replay.result().modelSha256()).isEqualTo(distilled.modelSha256());
        assertThat(replay.matches()).isTrue();
    }

    @Test
    void shouldDeadLetterEveryInjectedMalformedInput() {
        assertThat(result.deadLetterTotal()).isEqualTo(DemoPlan.quick().badRecords());
        assertThat(result.deadLetters()).containsKeys("teacher-service / DESERIALIZATION", "teacher-service / SHAPE");
    }

    @Test
    void shouldBuildTheReportFromThePublishedRecords() throws Exception {
        String html = Files.readString(result.report());

        assertThat(result.data().steps()).hasSize((int) (result.students().get(0).steps() + result.students().get(1).steps()));
        assertThat(result.data().monitors()).as("monitor windows on kd.monitors").isNotEmpty();
        assertThat(result.data().runs()).extracting(r -> r.getRunId())
                .contains(result.students().get(0).runId(), result.students().get(1).runId());
        assertThat(html).contains(result.distilled().orElseThrow().runId()).contains("kdstream replay --run");
        DemoReportIT.assertChartsWithData(html, List.of("loss-0", "loss-1", "loss-2", "task-loss", "loss-ratio-chart", "accuracy",
                "dlq"));
    }

    @Test
    void shouldRenderTheReportInHeadlessChromium() throws Exception {
        DemoReportIT.requireChromium("the browser check of the demo's report");

        var shot = DemoReportIT.screenshot(result.report(), dir.resolve("demo.png"), dir.resolve("profile"));

        assertThat(DemoReportIT.nonWhiteFraction(shot)).isGreaterThan(0.03);
        assertThat(DemoReportIT.colouredPixels(shot)).isGreaterThan(2_000);
    }
}
