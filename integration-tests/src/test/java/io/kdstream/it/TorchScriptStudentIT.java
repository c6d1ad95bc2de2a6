package io.kdstream.it;

import io.kdstream.avro.TrainingStep;
import io.kdstream.core.KdException;
import io.kdstream.core.model.ModelFormat;
import io.kdstream.core.model.ModelStore;
import io.kdstream.core.model.SavedModel;
import io.kdstream.core.zoo.FeatureBlock;
import io.kdstream.it.support.LocalKafka;
import io.kdstream.trainer.Replay;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;
import io.kdstream.trainer.student.TorchScriptStudent;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A user's TorchScript student distilled from the teacher-outputs stream on a real broker: it trains, leaves a
 * TorchScript file that loads back with the trained logits, and replays bit for bit.
 */
class TorchScriptStudentIT {

    /** The student-trainer's fixtures (written by its src/test/python/make_torchscript_students.py). */
    private static final Path FIXTURES = Path.of("..", "student-trainer", "src", "test", "resources", "torchscript")
            .toAbsolutePath().normalize();

    @RegisterExtension
    static final LocalKafka STACK = LocalKafka.withFashionMnist();

    @Test
    void shouldDistilATorchScriptStudentAndExportItAsTorchScriptThatReloadsWithTheSameLogits(@TempDir Path dir)
            throws Exception {
        // Given 320 teacher outputs of Fashion-MNIST images and the 28x28 TorchScript student
        Path studentFile = FIXTURES.resolve("tiny_student_28.pt");
        assertThat(studentFile).isRegularFile();
        Map<String, Object> props = TrainerIT.Fixtures.props(STACK.kafka(), STACK.registry(), "torchscript", dir);
        props.put(TrainerConfig.STUDENT_MODEL_CONFIG, studentFile.toString());
        props.put(TrainerConfig.LEARNING_RATE_CONFIG, "0.01");
        props.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "500");
        // a step libtorch still returns a non-finite gradient for after its recomputations is skipped, not fatal, here
        // (the replay below runs with the same settings)
        props.put(TrainerConfig.FAILURES_MAX_CONFIG, "100");
        TrainerIT.Fixtures.createTopics(props);
        TrainerIT.Fixtures.produce(props, 0, 320, TrainerIT.Fixtures::valid);

        // When the trainer distils it (2 epochs, batches of 32)
        List<TrainingStep> steps = new ArrayList<>();
        Trainer.Result result;
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props)).optStepListener(steps::add).build()) {
            result = trainer.run();
        }

        // Then every record was trained on twice, but for the batches of steps skipped for a non-finite gradient
        // (rare with TorchScript students, see docs/byo.md), and the loss fell
        assertThat(result.completed()).isTrue();
        assertThat(result.failedSteps()).isLessThanOrEqualTo(2);
        assertThat(result.samples()).isEqualTo(640 - 32 * result.failedSteps());
        assertThat(mean(steps.subList(steps.size() - 4, steps.size()))).isLessThan(mean(steps.subList(0, 4)));
        assertThat(result.accuracy()).isNotNull().isGreaterThan(0.2);

        // and the model directory holds the DJL files and the TorchScript student with its metadata
        Path modelDir = result.modelDir();
        assertThat(modelDir.resolve(ModelStore.PARAMETERS_FILE)).isRegularFile();
        Path exported = modelDir.resolve(TorchScriptStudent.EXPORT_FILE);
        assertThat(exported).isRegularFile();
        SavedModel exportedModel = ModelStore.read(exported);
        assertThat(exportedModel.metadata().format()).isEqualTo(ModelFormat.TORCHSCRIPT);
        assertThat(exportedModel.metadata().architecture()).isEqualTo("tiny-student-28");
        assertThat(ModelStore.read(modelDir).metadata().architecture()).isEqualTo("tiny-student-28");
        assertThat(dir.resolve("run").resolve(TorchScriptStudent.CHECKPOINT_EXPORT_DIR).resolve(TorchScriptStudent.EXPORT_FILE))
                .isRegularFile();

        // and the exported file, loaded as a fresh module, computes exactly the trained block's logits (the DJL
        // parameters of the same run), which differ from the untrained module's
        TorchScriptStudent reloaded = TorchScriptStudent.load(exported);
        TorchScriptStudent original = TorchScriptStudent.load(studentFile);
        float[] inputs = pattern(6, 784);
        try (NDManager manager = NDManager.newBaseManager()) {
            FeatureBlock fromExport = block(reloaded, manager);
            FeatureBlock fromDjl = block(original, manager);
            ModelStore.loadParameters(fromDjl, manager, ModelStore.read(modelDir));
            FeatureBlock untrained = block(original, manager);
            float[] exportedLogits = logits(fromExport, manager, inputs);
            assertThat(exportedLogits).containsExactly(logits(fromDjl, manager, inputs));
            assertThat(exportedLogits).isNotEqualTo(logits(untrained, manager, inputs));
        }

        // and a replay of the run from its manifest reproduces the model bit for bit (when neither run skipped a step:
        // a skipped step is not reproduced)
        Map<String, Object> connection = Map.of("bootstrap.servers", STACK.kafka().bootstrapServers(),
                "schema.registry.url", STACK.registry().url());
        Replay.Outcome replay = Replay.run(result.manifest(), connection, dir.resolve("replay"));
        if (result.failedSteps() == 0 && replay.result().failedSteps() == 0) {
            assertThat(replay.matches()).isTrue();
            assertThat(Files.mismatch(exported, replay.result().modelDir().resolve(TorchScriptStudent.EXPORT_FILE)))
                    .isEqualTo(-1L);
        }
    }

    @Test
    void shouldStopAtStartWhenTheStudentDoesNotFitTheStream(@TempDir Path dir) throws Exception {
        // Given 28x28 grey teacher outputs of 10 classes and a student for 3x32x32 inputs and 5 classes
        Map<String, Object> props = TrainerIT.Fixtures.props(STACK.kafka(), STACK.registry(), "torchscript-misfit", dir);
        Path studentFile = FIXTURES.resolve("tiny_student_32.pt");
        props.put(TrainerConfig.STUDENT_MODEL_CONFIG, studentFile.toString());
        TrainerIT.Fixtures.createTopics(props);
        TrainerIT.Fixtures.produce(props, 0, 64, TrainerIT.Fixtures::valid);

        // When the run starts, then it stops with the file and both shapes named, before any step
        List<TrainingStep> steps = new ArrayList<>();
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props)).optStepListener(steps::add).build()) {
            assertThatThrownBy(trainer::run).isInstanceOf(KdException.class)
                    .hasMessageContaining(studentFile.toString()).hasMessageContaining("[3, 32, 32]")
                    .hasMessageContaining("[1, 28, 28]");
        }
        assertThat(steps).isEmpty();
    }

    private static double mean(List<TrainingStep> steps) {
        return steps.stream().mapToDouble(TrainingStep::getTotalLoss).average().orElseThrow();
    }

    private static FeatureBlock block(TorchScriptStudent student, NDManager manager) {
        FeatureBlock block = student.newBlock();
        block.initialize(manager, DataType.FLOAT32, new Shape(1, 1, 28, 28));
        return block;
    }

    private static float[] logits(FeatureBlock block, NDManager manager, float[] inputs) {
        try (NDManager scope = manager.newSubManager()) {
            NDList out = block.forward(new ParameterStore(scope, false),
                    new NDList(scope.create(inputs, new Shape(inputs.length / 784, 1, 28, 28))), false);
            return out.get(0).toFloatArray();
        }
    }

    /** Element j of example i = ((i * 7919 + j * 37) mod 256) / 255. */
    private static float[] pattern(int n, int size) {
        float[] x = new float[n * size];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < size; j++) {
                x[i * size + j] = ((i * 7919 + j * 37) % 256) / 255f;
            }
        }
        return x;
    }
}
