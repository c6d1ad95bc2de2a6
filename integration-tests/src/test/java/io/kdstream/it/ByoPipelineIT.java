package io.kdstream.it;

import io.kdstream.avro.EvalResult;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.model.ModelFormat;
import io.kdstream.core.model.ModelStore;
import io.kdstream.core.zoo.FeatureBlock;
import io.kdstream.it.support.ItTopics;
import io.kdstream.it.support.LocalKafka;
import io.kdstream.it.support.Shapes;
import io.kdstream.it.support.TeacherProps;
import io.kdstream.it.support.TopicProps;
import io.kdstream.ops.cli.KdstreamCli;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.TeacherLoader;
import io.kdstream.teacher.serve.TeacherConfig;
import io.kdstream.teacher.serve.TeacherService;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;
import io.kdstream.trainer.student.TorchScriptStudent;

import ai.djl.Device;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * From a folder of images to distilled students, as a user with their own data and their own PyTorch teacher would
 * go: {@code kdstream ingest images} publishes a folder of 32x32 RGB images (5 classes) with a tenth of the labels and
 * a held-out folder with all of them, a TorchScript teacher trained on such images labels every input, and a
 * declarative {@code cnn:} student is distilled from the stream and scored on the held-out topic, against the same
 * student trained on the labelled tenth alone.
 */
class ByoPipelineIT {
    private static final String PREFIX = "byo-pipe";
    private static final String STUDENT = "cnn:8,16:dense32";
    private static final int TRAIN_PER_CLASS = 120;
    private static final int HELD_OUT_PER_CLASS = 60;
    private static final int TRAIN = TRAIN_PER_CLASS * Shapes.CLASSES.size();
    private static final int HELD_OUT = HELD_OUT_PER_CLASS * Shapes.CLASSES.size();

    @RegisterExtension
    static final LocalKafka STACK = LocalKafka.withoutDatasets();

    @TempDir
    static Path dir;

    private static Map<String, Object> base;
    private static KdConfig config;
    private static String heldOut;
    private static double teacherAccuracy;

    @BeforeAll
    static void ingestAndScore() throws Exception {
        // Given an image folder of training images and one of held-out images, on disk
        Path train = Shapes.writeFolder(dir.resolve("shapes/train"), TRAIN_PER_CLASS, 1);
        Path test = Shapes.writeFolder(dir.resolve("shapes/test"), HELD_OUT_PER_CLASS, 2);
        base = new HashMap<>();
        base.put("bootstrap.servers", STACK.kafka().bootstrapServers());
        base.put("schema.registry.url", STACK.registry().url());
        TopicProps.prefixed(base, PREFIX);
        base.put(KdConfig.TOPICS_PARTITIONS_CONFIG, "2");
        config = new KdConfig(base);
        heldOut = PREFIX + ".held-out";
        ItTopics.createWithLeaders(config, heldOut);
        Path propsFile = dir.resolve("kdstream.properties");
        Properties file = new Properties();
        base.forEach((k, v) -> file.setProperty(k, v.toString()));
        try (var out = Files.newBufferedWriter(propsFile)) {
            file.store(out, null);
        }

        // ... and the teacher's class order (not the folders' alphabetical one), as a classes file
        Path classes = Files.write(dir.resolve("classes.txt"), Shapes.CLASSES);

        // When both are ingested through the CLI, the training images with a tenth of their labels
        String ingested = cli("ingest", "images", train.toString(), "--classes", classes.toString(),
                "--label-fraction", "0.1", "--label-seed", "3", "--progress", "none", "--config", propsFile.toString());
        assertThat(ingested).contains("ingested " + TRAIN + " records");
        String ingestedHeldOut = cli("ingest", "images", test.toString(), "--classes", classes.toString(),
                "--topic", heldOut, "--progress", "none", "--config", propsFile.toString());
        assertThat(ingestedHeldOut).contains("ingested " + HELD_OUT + " records");

        // ... and the TorchScript teacher labels every training input
        try (Teacher teacher = TeacherLoader.load(fixture("torchscript/shapes_teacher.pt"), Device.cpu());
             TeacherService service = TeacherService.builder()
                     .setConfig(new TeacherConfig(TeacherProps.smallTransactions(base, PREFIX))).setTeacher(teacher)
                     .build()) {
            service.start();
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (service.metrics().snapshot().outputs() < TRAIN) {
                assertThat(service.isRunning()).as("teacher workers alive").isTrue();
                assertThat(System.nanoTime()).as("teacher scored every input in time").isLessThan(deadline);
                Thread.sleep(50);
            }
            assertThat(service.metrics().snapshot().outputs()).isEqualTo(TRAIN);
        }
        // (it was trained on images drawn by the same rules: on the labelled tenth it is right most of the time)
        List<TeacherOutput> outputs = ItTopics.readAll(config, config.topics().teacherOutputs(), TeacherOutput.class);
        assertThat(outputs).hasSize(TRAIN);
        long labelled = outputs.stream().filter(o -> o.getLabel() != null).count();
        long right = outputs.stream().filter(o -> o.getLabel() != null)
                .filter(o -> argmax(TensorCodec.toFloats("logits", o.getLogits().getValues())) == o.getLabel()).count();
        teacherAccuracy = (double) right / labelled;
        assertThat(teacherAccuracy).as("teacher accuracy on the %d labelled inputs", labelled).isGreaterThan(0.8);
    }

    private static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    @Test
    void shouldDistilASpecStudentFromAMostlyUnlabelledImageFolderStreamAndBeatLabelsOnly() {
        // When the spec student is distilled from every teacher output and, for comparison, trained on the labelled
        // tenth alone, both for the same epochs and scored on the held-out topic
        Trainer.Result distilled = train("distilled", Map.of(TrainerConfig.TEACHER_CONFIG, "stream"));
        Trainer.Result labelsOnly = train("labels-only", Map.of(TrainerConfig.TEACHER_CONFIG, "none"));

        // Then nothing was dead-lettered, both runs completed and were scored on all held-out images
        assertThat(ItTopics.readAll(config, config.topics().dlq(), FailureEvent.class)).filteredOn(f -> List.of(distilled.runId(),
                labelsOnly.runId()).contains(f.getAttributes().get("runId"))).isEmpty();
        for (Trainer.Result r : List.of(distilled, labelsOnly)) {
            assertThat(r.completed()).isTrue();
            assertThat(r.deadLetters()).isZero();
        }
        assertThat(distilled.samples()).isEqualTo(10L * TRAIN);
        assertThat(labelsOnly.skippedUnlabelled()).isGreaterThan(0);
        assertThat(labelsOnly.samples()).isEqualTo(10L * (TRAIN - labelsOnly.skippedUnlabelled() / 10));
        List<EvalResult> evals = ItTopics.readAll(config, config.topics().eval(), EvalResult.class).stream()
                .filter(e -> List.of(distilled.runId(), labelsOnly.runId()).contains(e.getRunId())).toList();
        assertThat(evals).isNotEmpty().allSatisfy(e -> {
            assertThat(e.getDataset()).isEqualTo("topic:" + heldOut);
            assertThat(e.getSamples()).isEqualTo(HELD_OUT);
        });

        // ... and the distilled student is the better one: the teacher's labels for the other nine tenths pay
        System.out.printf(Locale.ROOT, "ByoPipelineIT: %s on %d images (%d labelled), %d held out: distilled %.4f, "
                        + "labels-only %.4f%n", STUDENT, TRAIN, TRAIN - labelsOnly.skippedUnlabelled() / 10, HELD_OUT,
                distilled.accuracy(), labelsOnly.accuracy());
        assertThat(distilled.accuracy()).isGreaterThan(labelsOnly.accuracy() + 0.05);
    }

    @Test
    void shouldDistilTheUsersTorchScriptStudentAndExportItAsTorchScriptThatComputesTheSameLogits() {
        // When a user's own PyTorch student (a scripted module with its .json sidecar) is distilled from the stream
        Path studentFile = fixture("torchscript/shapes_student.pt");
        Trainer.Result result = train("torchscript", Map.of(TrainerConfig.TEACHER_CONFIG, "stream",
                TrainerConfig.STUDENT_MODEL_CONFIG, studentFile.toString()));

        // Then it trains on every output (a step whose gradient libtorch returns non-finite, which happens at random
        // for TorchScript modules on this engine version, is skipped and dead-lettered with its reason: docs/byo.md),
        // is scored on the held-out topic, and is exported as TorchScript
        assertThat(result.completed()).isTrue();
        assertThat(result.steps()).isEqualTo(10L * ((TRAIN + 31) / 32));
        List<FailureEvent> skipped = ItTopics.readAll(config, config.topics().dlq(), FailureEvent.class).stream()
                .filter(f -> result.runId().equals(f.getAttributes().get("runId"))).toList();
        assertThat(skipped).hasSize((int) result.failedSteps()).allSatisfy(f -> {
            assertThat(f.getKind()).isEqualTo(io.kdstream.avro.FailureKind.NON_FINITE);
            assertThat(f.getMessage()).contains("skipped");
        });
        assertThat(result.failedSteps()).isLessThan(result.steps() / 10);
        Path exported = result.modelDir().resolve(TorchScriptStudent.EXPORT_FILE);
        assertThat(exported).isRegularFile();
        assertThat(ModelStore.read(exported).metadata().format()).isEqualTo(ModelFormat.TORCHSCRIPT);

        // ... and the exported file, loaded as a fresh module, computes exactly the logits of the run's trained
        // parameters on held-out images, which are not the untrained module's
        float[] inputs = new float[8 * 3 * Shapes.SIZE * Shapes.SIZE];
        java.util.SplittableRandom rng = new java.util.SplittableRandom(5);
        for (int i = 0; i < 8; i++) {
            byte[] image = Shapes.draw(i % Shapes.CLASSES.size(), rng);
            for (int j = 0; j < image.length; j++) {
                inputs[i * image.length + j] = (image[j] & 0xff) / 255f;
            }
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            FeatureBlock fromExport = block(TorchScriptStudent.load(exported), manager);
            FeatureBlock trained = block(TorchScriptStudent.load(studentFile), manager);
            ModelStore.loadParameters(trained, manager, ModelStore.read(result.modelDir()));
            FeatureBlock untrained = block(TorchScriptStudent.load(studentFile), manager);
            float[] exportedLogits = logits(fromExport, manager, inputs);
            assertThat(exportedLogits).containsExactly(logits(trained, manager, inputs));
            assertThat(exportedLogits).isNotEqualTo(logits(untrained, manager, inputs));
        }
        System.out.printf(Locale.ROOT, "ByoPipelineIT: TorchScript student %s distilled: %.4f on %d held-out images "
                + "(%d steps, %d skipped)%n", studentFile.getFileName(), result.accuracy(), HELD_OUT, result.steps(),
                result.failedSteps());
        assertThat(result.accuracy()).isGreaterThan(0.6);
    }

    private static FeatureBlock block(TorchScriptStudent student, NDManager manager) {
        FeatureBlock block = student.newBlock();
        block.initialize(manager, DataType.FLOAT32, new Shape(1, 3, Shapes.SIZE, Shapes.SIZE));
        return block;
    }

    private static float[] logits(FeatureBlock block, NDManager manager, float[] inputs) {
        int size = 3 * Shapes.SIZE * Shapes.SIZE;
        try (NDManager scope = manager.newSubManager()) {
            NDList out = block.forward(new ParameterStore(scope, false),
                    new NDList(scope.create(inputs, new Shape(inputs.length / size, 3, Shapes.SIZE, Shapes.SIZE))), false);
            return out.get(0).toFloatArray();
        }
    }

    private static Trainer.Result train(String name, Map<String, String> overrides) {
        Map<String, Object> props = new HashMap<>(base);
        if (!overrides.containsKey(TrainerConfig.STUDENT_MODEL_CONFIG)) {
            props.put(TrainerConfig.STUDENT_CONFIG, STUDENT);
        }
        props.put(TrainerConfig.EVAL_TOPIC_CONFIG, heldOut);
        props.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "1000");
        props.put(TrainerConfig.EVAL_INTERVAL_CONFIG, "0");
        props.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, dir.resolve("runs").resolve(name).toString());
        props.put(TrainerConfig.GROUP_CONFIG, PREFIX + "-" + name);
        props.put(TrainerConfig.EPOCHS_CONFIG, "10");
        props.put(TrainerConfig.BATCH_SIZE_CONFIG, "32");
        props.put(TrainerConfig.SHUFFLE_BUFFER_CONFIG, "128");
        props.put(TrainerConfig.LEARNING_RATE_CONFIG, "0.003");
        props.putAll(overrides);
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props)).build()) {
            return trainer.run();
        }
    }

    private static String cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = KdstreamCli.newCommandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(args);
        assertThat(exit).as("kdstream %s: %s", String.join(" ", args), err).isZero();
        return out.toString();
    }

    static Path fixture(String resource) {
        try {
            return Path.of(ByoPipelineIT.class.getClassLoader().getResource(resource).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
