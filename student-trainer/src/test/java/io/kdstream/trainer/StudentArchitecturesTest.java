package io.kdstream.trainer;

import io.kdstream.core.KdException;
import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.model.ModelStore;
import io.kdstream.core.model.SavedModel;
import io.kdstream.core.zoo.Architecture;
import io.kdstream.core.zoo.FeatureBlock;
import io.kdstream.core.zoo.FeatureSpec;
import io.kdstream.core.zoo.ModelZoo;
import io.kdstream.trainer.source.StreamShape;
import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.source.Cursor;
import io.kdstream.trainer.state.TrainingCore;
import io.kdstream.trainer.loss.FeatureDescriptor;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.SplittableRandom;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StudentArchitecturesTest {
    private static final int N = 8;
    private static final List<Integer> CHW = List.of(3, 32, 32);
    private static final int SIZE = 3 * 32 * 32;
    private static final int CLASSES = 5;
    private static final Supplier<StreamShape> NO_STREAM = () -> {
        throw new AssertionError("the stream must not be read");
    };

    private static TrainerConfig config(Path dir, Map<String, Object> extra) {
        Map<String, Object> props = new HashMap<>();
        props.put(TrainerConfig.BATCH_SIZE_CONFIG, N);
        props.put(TrainerConfig.SHUFFLE_BUFFER_CONFIG, N);
        props.put(TrainerConfig.LEARNING_RATE_CONFIG, "0.01");
        props.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, dir.toString());
        props.putAll(extra);
        return new TrainerConfig(props);
    }

    private static float[] inputs(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[N * SIZE];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextDouble();
        }
        return x;
    }

    private static Batch batch(long seed) {
        return batch(seed, null, null);
    }

    private static Batch batch(long seed, List<float[]> features, List<FeatureDescriptor> descriptors) {
        int[] labels = new int[N];
        float[] logits = new float[N * CLASSES];
        for (int i = 0; i < N; i++) {
            labels[i] = i % CLASSES;
            logits[i * CLASSES + labels[i]] = 5f;
        }
        return new Batch(0, N, inputs(seed), labels, logits, features, new Cursor(0, 0, Map.of(0, 0L), 0, 0), Map.of(), null, 0, 0,
                null, descriptors);
    }

    private static NDList forward(FeatureBlock block, NDManager m, float[] x) {
        return block.forward(new ParameterStore(m, false), new NDList(m.create(x, new Shape(N, 3, 32, 32))), false);
    }

    @Test
    void shouldBuildACnnSpecForThreeChannelImagesThatTrainsAStepWithFeatureDistillation(@TempDir Path dir) {
        // Given a spec student for [3, 32, 32] inputs and 5 classes, distilling a teacher map of stride 4
        Architecture a = StudentArchitectures.forShape("cnn:8,16:dense32", CHW, CLASSES);
        assertThat(a.features()).extracting(FeatureSpec::name).containsExactly("conv1", "conv2", "embedding");
        TrainerConfig cfg = config(dir, Map.of(TrainerConfig.FEATURE_WEIGHT_CONFIG, "1.0"));
        FeatureDescriptor teacherMap = new FeatureDescriptor("t-conv", 4, List.of(12, 8, 8));
        float[] teacherValues = inputs(9);
        try (TrainingCore core = new TrainingCore(cfg, a); NDManager m = NDManager.newBaseManager()) {
            core.ensureFeatureKd(List.of(teacherMap));

            // When it runs forward and takes one training step
            NDList out = forward(core.block(), m, inputs(1));
            TrainingCore.StepOutcome step = core.step(batch(1, List.of(java.util.Arrays.copyOf(teacherValues, N * 12 * 8 * 8)),
                    List.of(teacherMap)), 0);

            // Then the logits and every declared feature have their shapes, and the step trained on every term
            assertThat(out.get(0).getShape()).isEqualTo(new Shape(N, CLASSES));
            assertThat(out.get(1).getShape()).isEqualTo(new Shape(N, 8, 16, 16));
            assertThat(out.get(2).getShape()).isEqualTo(new Shape(N, 16, 8, 8));
            assertThat(out.get(3).getShape()).isEqualTo(new Shape(N, 32));
            assertThat(step.applied()).isTrue();
            assertThat(step.taskLoss()).isPositive();
            assertThat(step.kdLoss()).isPositive();
            assertThat(step.featureLoss()).isPositive();
            assertThat(forward(core.block(), m, inputs(1)).get(0).toFloatArray()).isNotEqualTo(out.get(0).toFloatArray());
        }
    }

    @Test
    void shouldTrainAnMlpSpecOnFlatInputs(@TempDir Path dir) {
        Architecture a = StudentArchitectures.forShape("mlp:64,32", List.of(SIZE), CLASSES);
        try (TrainingCore core = new TrainingCore(config(dir, Map.of()), a)) {
            TrainingCore.StepOutcome step = core.step(batch(2), 0);
            assertThat(step.applied()).isTrue();
            assertThat(step.totalLoss()).isPositive();
        }
    }

    @Test
    void shouldReloadASavedSpecStudentWithEqualLogits(@TempDir Path dir) {
        // Given a spec student trained for two steps and saved as a run saves it
        Architecture a = StudentArchitectures.forShape("cnn:8,16:dense32", CHW, CLASSES);
        try (TrainingCore core = new TrainingCore(config(dir, Map.of()), a); NDManager m = NDManager.newBaseManager()) {
            core.step(batch(3), 0);
            core.step(batch(4), 1);
            SavedModel saved = ModelStore.saveTo(dir.resolve("model"), core.block(),
                    ModelMetadata.draft(a, ModelStore.PARAMETERS_FILE));

            // When it is read back from its directory alone
            SavedModel read = ModelStore.read(dir.resolve("model"));
            FeatureBlock reloaded = StudentArchitectures.load(read, m);

            // Then its metadata names the spec, shape and classes, and it computes the same logits
            assertThat(read.metadata().architecture()).isEqualTo("cnn:8,16:dense32");
            assertThat(read.metadata().inputShape()).isEqualTo(CHW);
            assertThat(read.metadata().numClasses()).isEqualTo(CLASSES);
            assertThat(read.metadata().features()).isEqualTo(a.features());
            assertThat(read.metadata().parametersSha256()).isEqualTo(saved.metadata().parametersSha256());
            float[] x = inputs(5);
            assertThat(forward(reloaded, m, x).get(0).toFloatArray()).containsExactly(forward(core.block(), m, x).get(0).toFloatArray());
        }
    }

    @Test
    void shouldResolveZooNamesAsBeforeWithoutReadingTheStream(@TempDir Path dir) {
        Architecture mlp = StudentArchitectures.resolve(config(dir, Map.of()), NO_STREAM);
        Architecture tiny = StudentArchitectures.resolve(config(dir, Map.of(TrainerConfig.STUDENT_CONFIG,
                ModelZoo.FMNIST_TINY_CNN_STUDENT, TrainerConfig.INPUT_SHAPE_CONFIG, "1,28,28", TrainerConfig.NUM_CLASSES_CONFIG, "10")),
                NO_STREAM);
        assertThat(mlp.name()).isEqualTo(ModelZoo.FMNIST_MLP_STUDENT);
        assertThat(mlp.features()).isEqualTo(ModelZoo.studentMlp().features());
        assertThat(tiny.name()).isEqualTo(ModelZoo.FMNIST_TINY_CNN_STUDENT);
        assertThat(tiny.inputShape()).isEqualTo(List.of(1, 28, 28));
    }

    @Test
    void shouldRefuseSettingsThatContradictAZooStudent(@TempDir Path dir) {
        assertThatThrownBy(() -> StudentArchitectures.resolve(config(dir, Map.of(TrainerConfig.INPUT_SHAPE_CONFIG, "3,32,32")),
                NO_STREAM)).isInstanceOf(KdException.class).hasMessageContaining(TrainerConfig.INPUT_SHAPE_CONFIG)
                .hasMessageContaining("[3, 32, 32]").hasMessageContaining("[1, 28, 28]");
        assertThatThrownBy(() -> StudentArchitectures.resolve(config(dir, Map.of(TrainerConfig.NUM_CLASSES_CONFIG, "5")), NO_STREAM))
                .isInstanceOf(KdException.class).hasMessageContaining(TrainerConfig.NUM_CLASSES_CONFIG).hasMessageContaining("10 classes");
        assertThatThrownBy(() -> StudentArchitectures.forShape(ModelZoo.FMNIST_MLP_STUDENT, CHW, CLASSES))
                .isInstanceOf(KdException.class).hasMessageContaining("use a spec");
    }

    @Test
    void shouldTakeTheShapeFromTheKeysOrElseFromTheStream(@TempDir Path dir) {
        // explicit keys: the stream is not read
        Architecture explicit = StudentArchitectures.resolve(config(dir, Map.of(TrainerConfig.STUDENT_CONFIG, "cnn:4",
                TrainerConfig.INPUT_SHAPE_CONFIG, "3,32,32", TrainerConfig.NUM_CLASSES_CONFIG, "5")), NO_STREAM);
        assertThat(explicit.inputShape()).isEqualTo(CHW);
        assertThat(explicit.numClasses()).isEqualTo(5);
        // nothing set: both from the stream; the class count alone set: the shape from the stream
        StreamShape teacherOutput = new StreamShape(List.of(3, 16, 16), OptionalInt.of(7), "t-0@0");
        Architecture detected = StudentArchitectures.resolve(config(dir, Map.of(TrainerConfig.STUDENT_CONFIG, "cnn:4")),
                () -> teacherOutput);
        assertThat(detected.inputShape()).isEqualTo(List.of(3, 16, 16));
        assertThat(detected.numClasses()).isEqualTo(7);
        Architecture mixed = StudentArchitectures.resolve(config(dir, Map.of(TrainerConfig.STUDENT_CONFIG, "mlp:8",
                TrainerConfig.NUM_CLASSES_CONFIG, "3")), () -> teacherOutput);
        assertThat(mixed.inputShape()).isEqualTo(List.of(3, 16, 16));
        assertThat(mixed.numClasses()).isEqualTo(3);
        // an InputRecord stream has no logits: the class count must be set
        StreamShape inputRecord = new StreamShape(List.of(3, 16, 16), OptionalInt.empty(), "in-0@0");
        assertThatThrownBy(() -> StudentArchitectures.resolve(config(dir, Map.of(TrainerConfig.STUDENT_CONFIG, "mlp:8")),
                () -> inputRecord)).isInstanceOf(KdException.class).hasMessageContaining(TrainerConfig.NUM_CLASSES_CONFIG)
                .hasMessageContaining("in-0@0");
    }

    @Test
    void shouldResumeWithTheStudentTheRunStartedWith(@TempDir Path dir) {
        // Given a run directory in which a spec run started on [3, 32, 32] and 5 classes
        TrainerConfig cfg = config(dir, Map.of(TrainerConfig.STUDENT_CONFIG, "cnn:4,8"));
        StudentArchitectures.remember(cfg, StudentArchitectures.forShape("cnn:4,8", CHW, CLASSES));

        // When it resumes, the stream is not asked again and the shape is the one it started with
        Architecture resumed = StudentArchitectures.resolve(cfg, NO_STREAM);
        assertThat(resumed.inputShape()).isEqualTo(CHW);
        assertThat(resumed.numClasses()).isEqualTo(CLASSES);

        // ... and another student, or a contradicting key, on that directory is refused with what to do
        assertThatThrownBy(() -> StudentArchitectures.resolve(config(dir, Map.of(TrainerConfig.STUDENT_CONFIG, "cnn:4")), NO_STREAM))
                .isInstanceOf(KdException.class).hasMessageContaining("cnn:4,8").hasMessageContaining(TrainerConfig.CHECKPOINT_DIR_CONFIG);
        assertThatThrownBy(() -> StudentArchitectures.resolve(config(dir, Map.of(TrainerConfig.STUDENT_CONFIG, "cnn:4,8",
                TrainerConfig.NUM_CLASSES_CONFIG, "6")), NO_STREAM)).isInstanceOf(KdException.class)
                .hasMessageContaining(TrainerConfig.NUM_CLASSES_CONFIG);
    }

    @Test
    void shouldRejectABadSpecInTheConfigurationNamingTheBadPart(@TempDir Path dir) {
        assertThatThrownBy(() -> config(dir, Map.of(TrainerConfig.STUDENT_CONFIG, "cnn:32,6x4:dense128")))
                .isInstanceOf(ConfigException.class).hasMessageContaining(TrainerConfig.STUDENT_CONFIG).hasMessageContaining("'6x4'");
        assertThatThrownBy(() -> config(dir, Map.of(TrainerConfig.STUDENT_CONFIG, "resnet50")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("neither a zoo student");
        assertThatThrownBy(() -> config(dir, Map.of(TrainerConfig.INPUT_SHAPE_CONFIG, "3,x,32")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("'x'");
    }

    @Test
    void shouldKeepTheTrainingHashOfRunsThatDoNotSetTheNewKeys(@TempDir Path dir) {
        Map<String, String> settings = config(dir, Map.of()).trainingSettings();
        assertThat(settings).doesNotContainKeys(TrainerConfig.INPUT_SHAPE_CONFIG, TrainerConfig.NUM_CLASSES_CONFIG,
                TrainerConfig.EVAL_TOPIC_CONFIG);
        assertThat(config(dir, Map.of(TrainerConfig.INPUT_SHAPE_CONFIG, "3,32,32")).trainingSettings())
                .containsEntry(TrainerConfig.INPUT_SHAPE_CONFIG, "3,32,32");
    }

    @Test
    void shouldTrainTheSpecOfTheZooTinyCnnExactlyAsTheZooModel(@TempDir Path dir) {
        // cnn:8,16:dense64 on [1, 28, 28] and 10 classes is the zoo's tiny CNN, with one more feature tap
        Architecture spec = StudentArchitectures.forShape("cnn:8,16:dense64", List.of(1, 28, 28), 10);
        TrainerConfig cfg = config(dir, Map.of(TrainerConfig.TEACHER_CONFIG, "none"));
        try (TrainingCore zoo = new TrainingCore(cfg, ModelZoo.studentTinyCnn()); TrainingCore own = new TrainingCore(cfg, spec)) {
            SplittableRandom r = new SplittableRandom(5);
            for (int step = 0; step < 3; step++) {
                float[] x = new float[N * 784];
                int[] labels = new int[N];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) r.nextDouble();
                }
                for (int i = 0; i < N; i++) {
                    labels[i] = r.nextInt(10);
                }
                Batch b = new Batch(0, N, x, labels, null, null, new Cursor(0, 0, Map.of(0, 0L), 0, 0), Map.of(), null, 0, 0, null);
                assertThat(own.step(b, step).totalLoss()).isEqualTo(zoo.step(b, step).totalLoss());
            }
            List<float[]> a = List.copyOf(zoo.parameters().values());
            List<float[]> b = List.copyOf(own.parameters().values());
            assertThat(b).hasSameSizeAs(a);
            for (int i = 0; i < a.size(); i++) {
                assertThat(b.get(i)).as("parameter " + i).containsExactly(a.get(i));
            }
        }
    }
}
