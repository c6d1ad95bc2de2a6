package io.kdstream.ops.demo;

import io.kdstream.core.KdException;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.model.ModelFormat;
import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.model.ModelStore;
import io.kdstream.core.zoo.ModelZoo;
import io.kdstream.ops.cli.ProgressBar;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class DemoUnitsTest {

    private static ModelMetadata teacherMetadata(ModelMetadata.TrainingInfo training) {
        ModelMetadata draft = ModelMetadata.draft(ModelZoo.teacherCnn(), ModelStore.PARAMETERS_FILE);
        return training == null ? draft : draft.withTraining(training);
    }

    @Test
    void shouldScaleTheGroupsLearningRateWithItsMembers() {
        String defaultRate = new io.kdstream.trainer.TrainerConfig(Map.of())
                .getString(io.kdstream.trainer.TrainerConfig.LEARNING_RATE_CONFIG);
        assertThat(defaultRate).startsWith("constant:");
        double rate = Double.parseDouble(defaultRate.substring("constant:".length()));
        assertThat(StudentsPhase.KD_GROUP_LEARNING_RATE).isEqualTo("constant:" + rate * StudentsPhase.KD_TRAINERS.size());
    }

    @Test
    void shouldReuseATeacherTrainedTheWayThePlanAsks() {
        ModelMetadata.TrainingInfo expected = TeacherCache.expectedTraining(DemoPlan.quick(), 60_000);
        ModelMetadata.TrainingInfo recorded = new ModelMetadata.TrainingInfo(expected.dataset(), expected.epochs(),
                expected.seed(), expected.batchSize(), expected.learningRate(), 123.4);

        assertThat(expected.dataset()).isEqualTo("fashion-mnist/train[0:6000]");
        assertThat(TeacherCache.matches(teacherMetadata(recorded), expected)).isTrue();
    }

    @Test
    void shouldNotReuseATeacherTrainedDifferentlyOrOfAnotherArchitecture() {
        ModelMetadata.TrainingInfo expected = TeacherCache.expectedTraining(DemoPlan.full(), 60_000);
        ModelMetadata.TrainingInfo fewerEpochs = new ModelMetadata.TrainingInfo(expected.dataset(), expected.epochs() - 1,
                expected.seed(), expected.batchSize(), expected.learningRate(), 1);
        ModelMetadata student = new ModelMetadata(ModelFormat.DJL, ModelZoo.FMNIST_MLP_STUDENT, "v",
                ModelZoo.studentMlp().inputShape(), 10, List.of(), ModelStore.PARAMETERS_FILE, "", Optional.empty(),
                Optional.of(expected));

        assertThat(expected.dataset()).isEqualTo("fashion-mnist/train");
        assertThat(TeacherCache.matches(teacherMetadata(fewerEpochs), expected)).isFalse();
        assertThat(TeacherCache.matches(teacherMetadata(null), expected)).isFalse();
        assertThat(TeacherCache.matches(student, expected)).isFalse();
    }

    @Test
    void shouldFindNothingInAnEmptyStore(@TempDir Path dir) {
        TeacherCache cache = new TeacherCache(ModelStore.open(dir));

        assertThat(cache.find(List.of(TeacherCache.expectedTraining(DemoPlan.quick(), 60_000)))).isEmpty();
    }

    @Test
    void shouldRefuseInconsistentPlans() {
        assertThatThrownBy(() -> new DemoPlan("x", 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, Duration.ofSeconds(1),
                Duration.ofSeconds(1), Duration.ZERO, 1.0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new DemoPlan("x", 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, Duration.ofSeconds(1),
                Duration.ofSeconds(2), Duration.ZERO, 1.0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new DemoPlan("x", 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, Duration.ofSeconds(1),
                Duration.ofSeconds(1), Duration.ZERO, 0.0)).isInstanceOf(IllegalArgumentException.class);
        assertThat(DemoPlan.quick().studentSteps()).isEqualTo(2 * (6_000 / 64 + 1));
    }

    @Test
    void shouldRenderTheSummaryWithEveryHeadlineFigure() {
        DemoResult r = new DemoResult(DemoPlan.quick(), Path.of("/data/demo"), Path.of("/tmp/r.html"),
                new DemoResult.TeacherSummary("fmnist-cnn-teacher", "t".repeat(64), 0.9, true, Path.of("/m")), 6_010,
                300.0, List.of(
                        new DemoResult.StudentSummary("baseline (labels only)", "baseline-0", "gb", "run-b", 0.83, 4000, 188,
                                "b".repeat(64)),
                        new DemoResult.StudentSummary("distilled (KD)", "kd-0", "gk", "run-k", 0.85, 3900, 188,
                                "k".repeat(64))),
                Map.of("teacher-service / SHAPE", 5L), 1, Map.of("stack", 5.0, "students", 55.0), List.of("a note"), null, 300);

        String out = SummaryTable.render(r);

        assertThat(out).contains("finished in 1:00").contains("90.00%").contains("83.00%").contains("85.00%")
                .contains("dead letters:    5 (teacher-service / SHAPE: 5)").contains("alerts raised:   1")
                .contains("k".repeat(64) + " (run run-k)").contains("kdstream up --data-dir /data/demo")
                .contains("kdstream replay --run run-k").contains("note: a note")
                .contains("distillation gain: +2.00 pp over labels-only")
                .contains("300 of 6,000 training images (5%) carry a label");
    }

    @Test
    void shouldRefuseANonEmptyDataDirectoryThatNoDemoMade(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isDirectory(FashionMnist.DEFAULT_DIR), "Fashion-MNIST is not installed");
        Files.writeString(dir.resolve("precious.txt"), "keep me");
        StringWriter console = new StringWriter();
        try (DemoRunner runner = DemoRunner.builder().setPlan(DemoPlan.quick()).setDataDir(dir)
                .setReportFile(dir.resolve("r.html")).optModelStore(ModelStore.open(dir.resolve("models")))
                .optConsole(new PrintWriter(console, true))
                .optProgress(new PrintStream(PrintStream.nullOutputStream(), true, StandardCharsets.UTF_8),
                        ProgressBar.Mode.NONE)
                .build()) {

            assertThatThrownBy(runner::run).isInstanceOf(KdException.class).hasMessageContaining("not empty")
                    .hasMessageContaining("--data-dir");
        }
        assertThat(dir.resolve("precious.txt")).hasContent("keep me");
    }

    @Test
    void shouldStopBeforeStartingAnythingWhenStoppedEarly(@TempDir Path dir) {
        assumeTrue(Files.isDirectory(FashionMnist.DEFAULT_DIR), "Fashion-MNIST is not installed");
        DemoRunner runner = DemoRunner.builder().setPlan(DemoPlan.quick()).setDataDir(dir.resolve("d"))
                .setReportFile(dir.resolve("r.html")).optConsole(new PrintWriter(new StringWriter(), true))
                .optProgress(new PrintStream(PrintStream.nullOutputStream(), true, StandardCharsets.UTF_8),
                        ProgressBar.Mode.NONE)
                .build();

        runner.stop();

        assertThatThrownBy(runner::run).isInstanceOf(DemoRunner.StoppedException.class);
        runner.close();
        assertThat(dir.resolve("d")).doesNotExist();
    }
}
