package io.kdstream.it;

import io.kdstream.avro.EvalResult;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.InputRecord;
import io.kdstream.avro.RunManifest;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.model.ModelStore;
import io.kdstream.core.model.SavedModel;
import io.kdstream.core.zoo.Architecture;
import io.kdstream.core.zoo.FeatureBlock;
import io.kdstream.it.support.ConfirmedSends;
import io.kdstream.it.support.ItTopics;
import io.kdstream.it.support.LocalKafka;
import io.kdstream.it.support.TeacherProps;
import io.kdstream.it.support.TopicProps;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.TeacherIdentity;
import io.kdstream.teacher.serve.TeacherConfig;
import io.kdstream.teacher.serve.TeacherService;
import io.kdstream.trainer.Replay;
import io.kdstream.trainer.RunManifests;
import io.kdstream.trainer.StudentArchitectures;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A user's own data: InputRecords of shape [3, 32, 32] in five classes (coloured shapes drawn by the test), scored by
 * the teacher-service, train a {@code cnn:} spec student whose input shape and class count are detected from the
 * stream; the student is scored on a held-out topic of the user's own labelled records.
 */
class SpecStudentIT {
    private static final String PREFIX = "spec";
    private static final String STUDENT = "cnn:8,16:dense32";
    private static final List<Integer> CHW = List.of(3, 32, 32);
    private static final int CLASSES = 5;
    private static final int TRAIN = 1_000;
    private static final int HELD_OUT = 250;
    private static final int UNLABELLED = 10;
    private static final int WRONG_SHAPE = 5;
    private static final int GARBAGE = 5;

    @RegisterExtension
    static final LocalKafka STACK = LocalKafka.withoutDatasets();

    @Test
    void shouldTrainACnnSpecStudentOnThreeChannelImagesAndScoreItOnAHeldOutTopic(@TempDir Path dir) throws Exception {
        // Given 1,000 labelled images on the inputs topic and a held-out topic of 250 labelled ones plus records that
        // cannot be scored (unlabelled, another shape, not Avro)
        Map<String, Object> base = new HashMap<>();
        base.put("bootstrap.servers", STACK.kafka().bootstrapServers());
        base.put("schema.registry.url", STACK.registry().url());
        TopicProps.prefixed(base, PREFIX);
        base.put(KdConfig.TOPICS_PARTITIONS_CONFIG, "2");
        KdConfig config = new KdConfig(base);
        String heldOut = PREFIX + ".held-out";
        ItTopics.createWithLeaders(config, heldOut);
        produceInputs(config);
        produceHeldOut(config, heldOut);

        // When the teacher-service scores the inputs (a seeded, untrained teacher of the same shape: the run below
        // trains on labels only, and the teacher's logits tell the class count) ...
        Map<String, Object> teacherProps = TeacherProps.smallTransactions(base, PREFIX);
        long scored;
        try (Teacher teacher = teacher();
             TeacherService service = TeacherService.builder().setConfig(new TeacherConfig(teacherProps)).setTeacher(teacher).build()) {
            service.start();
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (service.metrics().snapshot().outputs() < TRAIN) {
                assertThat(service.isRunning()).as("teacher workers alive").isTrue();
                assertThat(System.nanoTime()).as("teacher scored every input in time").isLessThan(deadline);
                Thread.sleep(50);
            }
            scored = service.metrics().snapshot().outputs();
        }
        // ... and a cnn: spec student, told neither the shape nor the class count, trains on them and is evaluated on
        // the held-out topic
        Map<String, Object> props = new HashMap<>(base);
        props.put(TrainerConfig.STUDENT_CONFIG, STUDENT);
        props.put(TrainerConfig.TEACHER_CONFIG, "none");
        props.put(TrainerConfig.EVAL_TOPIC_CONFIG, heldOut);
        props.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "1000");
        props.put(TrainerConfig.EVAL_INTERVAL_CONFIG, "40");
        props.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, dir.resolve("run").toString());
        props.put(TrainerConfig.GROUP_CONFIG, PREFIX + "-trainer");
        props.put(TrainerConfig.EPOCHS_CONFIG, "3");
        props.put(TrainerConfig.BATCH_SIZE_CONFIG, "32");
        props.put(TrainerConfig.SHUFFLE_BUFFER_CONFIG, "128");
        props.put(TrainerConfig.CHECKPOINT_INTERVAL_CONFIG, "20");
        props.put(TrainerConfig.LEARNING_RATE_CONFIG, "0.003");
        Trainer.Result result;
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props)).build()) {
            result = trainer.run();
        }

        // Then every input was scored and trained on, once per epoch, and nothing was dead-lettered
        assertThat(scored).isEqualTo(TRAIN);
        assertThat(result.completed()).isTrue();
        assertThat(result.samples()).isEqualTo(3L * TRAIN);
        assertThat(result.deadLetters()).isZero();
        assertThat(ItTopics.readAll(config, config.topics().dlq(), FailureEvent.class)).isEmpty();

        // ... the saved student records the spec and the detected shape and class count, and reloads
        SavedModel saved = ModelStore.read(result.modelDir());
        ModelMetadata meta = saved.metadata();
        assertThat(meta.architecture()).isEqualTo(STUDENT);
        assertThat(meta.inputShape()).isEqualTo(CHW);
        assertThat(meta.numClasses()).isEqualTo(CLASSES);
        assertThat(meta.features()).extracting(f -> f.name() + "@" + f.stride()).containsExactly("conv1@2", "conv2@4", "embedding@0");
        try (var manager = ai.djl.ndarray.NDManager.newBaseManager()) {
            FeatureBlock reloaded = StudentArchitectures.load(saved, manager);
            assertThat(reloaded.featureNames()).containsExactly("conv1", "conv2", "embedding");
        }
        RunManifest manifest = RunManifests.read(result.modelDir().resolve(RunManifests.FILE));
        assertThat(manifest.getStudentArchitecture()).isEqualTo(STUDENT);
        assertThat(Files.isRegularFile(dir.resolve("run").resolve(StudentArchitectures.STUDENT_FILE))).isTrue();

        // ... every evaluation names the held-out topic and counts its 250 usable records, and the student learnt
        // the easy classes far beyond chance (20%)
        List<EvalResult> evals = ItTopics.readAll(config, config.topics().eval(), EvalResult.class);
        assertThat(evals).hasSizeGreaterThanOrEqualTo(2);
        assertThat(evals).allSatisfy(e -> {
            assertThat(e.getDataset()).isEqualTo("topic:" + heldOut);
            assertThat(e.getSamples()).isEqualTo(HELD_OUT);
        });
        EvalResult last = evals.get(evals.size() - 1);
        assertThat(last.getStep()).isEqualTo(result.steps());
        assertThat(last.getStudentAccuracy()).isEqualTo(result.accuracy());
        assertThat(result.accuracy()).isGreaterThan(0.6);
        // When the run is replayed from its manifest into a fresh directory (the shape is detected again)
        Replay.Outcome replay = Replay.run(Replay.findManifest(config, result.runId()), Map.of("bootstrap.servers",
                STACK.kafka().bootstrapServers(), "schema.registry.url", STACK.registry().url()), dir.resolve("replay"));

        // Then it builds the same student and reproduces the model bit for bit
        assertThat(replay.result().samples()).isEqualTo(result.samples());
        assertThat(replay.matches()).isTrue();
        // When a short run names an evaluation topic that does not exist
        Map<String, Object> typo = new HashMap<>(props);
        typo.put(TrainerConfig.EVAL_TOPIC_CONFIG, PREFIX + ".no-such-topic");
        typo.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, dir.resolve("typo").toString());
        typo.put(TrainerConfig.EPOCHS_CONFIG, "1");
        typo.put(TrainerConfig.MAX_STEPS_CONFIG, "5");
        Trainer.Result unevaluated;
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(typo)).build()) {
            unevaluated = trainer.run();
        }

        // Then it still trains and saves its student, without an accuracy and without creating the topic
        assertThat(unevaluated.completed()).isTrue();
        assertThat(unevaluated.modelSha256()).isNotNull();
        assertThat(unevaluated.accuracy()).isNull();
        try (Admin admin = KafkaClients.admin(config)) {
            assertThat(admin.listTopics().names().get()).doesNotContain(PREFIX + ".no-such-topic");
        }
        System.out.printf(java.util.Locale.ROOT, "SpecStudentIT: %s on %s, %d classes: %d steps, %d samples, held-out accuracy "
                + "%.4f on %d records (chance 0.2000), %.1f s in the trainer%n", STUDENT, CHW, CLASSES, result.steps(),
                result.samples(), result.accuracy(), HELD_OUT, result.timings().totalNanos() / 1e9);
    }

    /** A seeded, untrained cnn: network for [3, 32, 32] inputs and 5 classes, served as the teacher. */
    private static Teacher teacher() {
        return seededTeacher("cnn:4:dense8", 11, "spec-teacher", "cd");
    }

    /**
     * A seeded, untrained network of {@code spec} for [3, 32, 32] inputs and 5 classes, to serve as a teacher;
     * {@code shaByte} (two hex digits) repeated makes its identity's sha256.
     */
    static Teacher seededTeacher(String spec, int seed, String name, String shaByte) {
        Architecture arch = StudentArchitectures.forShape(spec, CHW, CLASSES);
        Engine.getEngine("PyTorch").setRandomSeed(seed);
        Model model = Model.newInstance(name, Device.cpu(), "PyTorch");
        FeatureBlock block = arch.newBlock();
        model.setBlock(block);
        block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 3, 32, 32));
        ModelMetadata meta = ModelMetadata.draft(arch, ModelStore.PARAMETERS_FILE).withVersion("1");
        return new Teacher(model, meta, new TeacherIdentity(arch.name(), "1", shaByte.repeat(32)));
    }

    /**
     * Image {@code i} of class {@code i % 5}: a shape of the class (square, disc, horizontal bar, vertical bar,
     * cross) in a colour near the class's, at a random place, on a dark noisy background. UINT8 [3, 32, 32].
     */
    static byte[] image(int cls, SplittableRandom r) {
        int[][] palette = {{230, 40, 40}, {40, 220, 60}, {50, 70, 235}, {225, 215, 40}, {210, 50, 220}};
        byte[] px = new byte[3 * 32 * 32];
        for (int k = 0; k < px.length; k++) {
            px[k] = (byte) r.nextInt(0, 50);
        }
        int cy = 16 + r.nextInt(-5, 6);
        int cx = 16 + r.nextInt(-5, 6);
        int half = r.nextInt(5, 9);
        int[] colour = new int[3];
        for (int c = 0; c < 3; c++) {
            colour[c] = Math.max(0, Math.min(255, palette[cls][c] + r.nextInt(-40, 41)));
        }
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) {
                int dy = y - cy;
                int dx = x - cx;
                boolean on = switch (cls) {
                    case 0 -> Math.abs(dy) <= half && Math.abs(dx) <= half;
                    case 1 -> dy * dy + dx * dx <= half * half;
                    case 2 -> Math.abs(dy) <= 2 && Math.abs(dx) <= half + 3;
                    case 3 -> Math.abs(dx) <= 2 && Math.abs(dy) <= half + 3;
                    default -> (Math.abs(dy - dx) <= 1 || Math.abs(dy + dx) <= 1) && Math.abs(dy) <= half;
                };
                if (on) {
                    for (int c = 0; c < 3; c++) {
                        px[c * 1024 + y * 32 + x] = (byte) colour[c];
                    }
                }
            }
        }
        return px;
    }

    private static InputRecord record(String id, byte[] pixels, Integer label, int... shape) {
        return InputRecord.newBuilder().setId(id).setSource("spec-it/shapes").setInput(TensorCodec.fromUint8(pixels, shape))
                .setLabel(label).setLabels(null).setTimestampMs(Instant.ofEpochMilli(1_700_000_000_000L)).setAttributes(Map.of())
                .build();
    }

    private static void produceInputs(KdConfig config) throws Exception {
        String topic = config.topics().inputs();
        Serializer<InputRecord> serializer = KdAvroSerdes.value(InputRecord.class, config.serdeProperties()).serializer();
        SplittableRandom r = new SplittableRandom(1);
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        for (int i = 0; i < TRAIN; i++) {
            String id = "shapes-train-" + i;
            out.add(new ProducerRecord<>(topic, i % 2, id.getBytes(StandardCharsets.UTF_8),
                    serializer.serialize(topic, record(id, image(i % CLASSES, r), i % CLASSES, 3, 32, 32))));
        }
        ConfirmedSends.sendAll(config, "spec-inputs", out);
    }

    private static void produceHeldOut(KdConfig config, String topic) throws Exception {
        Serializer<InputRecord> serializer = KdAvroSerdes.value(InputRecord.class, config.serdeProperties()).serializer();
        SplittableRandom r = new SplittableRandom(2);
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        int n = 0;
        for (int i = 0; i < HELD_OUT; i++) {
            out.add(held(topic, n++, serializer.serialize(topic, record("shapes-test-" + i, image(i % CLASSES, r), i % CLASSES, 3, 32, 32))));
        }
        for (int i = 0; i < UNLABELLED; i++) {
            out.add(held(topic, n++, serializer.serialize(topic, record("shapes-unlabelled-" + i, image(i % CLASSES, r), null, 3, 32, 32))));
        }
        for (int i = 0; i < WRONG_SHAPE; i++) {
            out.add(held(topic, n++, serializer.serialize(topic, record("shapes-small-" + i, new byte[3 * 28 * 28], 0, 3, 28, 28))));
        }
        for (int i = 0; i < GARBAGE; i++) {
            out.add(held(topic, n++, ("not avro " + i).getBytes(StandardCharsets.UTF_8)));
        }
        ConfirmedSends.sendAll(config, "spec-held-out", out);
    }

    private static ProducerRecord<byte[], byte[]> held(String topic, int n, byte[] value) {
        return new ProducerRecord<>(topic, n % 2, ("held-" + n).getBytes(StandardCharsets.UTF_8), value);
    }
}
