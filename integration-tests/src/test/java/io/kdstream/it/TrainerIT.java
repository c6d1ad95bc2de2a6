package io.kdstream.it;

import io.kdstream.avro.DType;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.Logits;
import io.kdstream.avro.RunManifest;
import io.kdstream.avro.RunStatus;
import io.kdstream.avro.SourceCoordinates;
import io.kdstream.avro.TeacherInfo;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.avro.TrainingStep;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.it.support.ConfirmedSends;
import io.kdstream.it.support.KafkaTestCluster;
import io.kdstream.it.support.TestRegistry;
import io.kdstream.it.support.TopicProps;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.trainer.RunManifests;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
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
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The student trainer against a real broker and registry, fed with teacher outputs written by the test. */
class TrainerIT {
    private static final double DEFAULT_ALPHA = Double.parseDouble(
            (String) TrainerConfig.configDef().defaultValues().get(TrainerConfig.KD_ALPHA_CONFIG));

    private static KafkaTestCluster kafka;
    private static TestRegistry registry;

    @BeforeAll
    static void start() {
        assumeTrue(Files.isDirectory(FashionMnist.DEFAULT_DIR), "Fashion-MNIST is not installed");
        kafka = KafkaTestCluster.start();
        registry = TestRegistry.start(kafka.bootstrapServers());
    }

    @AfterAll
    static void stop() throws Exception {
        if (registry != null) {
            registry.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void shouldDistilFromTheStreamAndPublishStepsEvaluationAndManifest(@TempDir Path dir) throws Exception {
        // Given 600 teacher outputs on two partitions
        Map<String, Object> props = Fixtures.props(kafka, registry, "plain", dir);
        Fixtures.createTopics(props);
        Fixtures.produce(props, 0, 600, Fixtures::valid);

        // When a 2-epoch run trains on them
        Trainer.Result result;
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props)).build()) {
            result = trainer.run();
        }

        // Then every record was trained on once per epoch, and the run is documented
        assertThat(result.completed()).isTrue();
        assertThat(result.samples()).isEqualTo(2 * 600);
        assertThat(result.steps()).isEqualTo(2 * ((600 / 128) * (128 / 32) + (600 % 128 + 31) / 32));
        assertThat(result.failedSteps()).isZero();
        assertThat(result.deadLetters()).isZero();
        assertThat(result.accuracy()).isNotNull().isGreaterThan(0.3);
        assertThat(result.modelSha256()).matches("[0-9a-f]{64}");
        RunManifest onDisk = RunManifests.read(result.modelDir().resolve(RunManifests.FILE));
        assertThat(onDisk.getFinalModelSha256()).isEqualTo(result.modelSha256());
        assertThat(onDisk.getRanges()).hasSize(2);
        assertThat(onDisk.getRanges().stream().mapToLong(r -> r.getEndOffset() - r.getStartOffset()).sum()).isEqualTo(600);
        assertThat(onDisk.getTeacherSha256()).isEqualTo(Fixtures.TEACHER_SHA);

        KdConfig config = new KdConfig(props);
        List<TrainingStep> steps = Fixtures.readAll(config, config.topics().metrics(), TrainingStep.class);
        assertThat(steps).hasSize((int) result.steps());
        assertThat(steps).allSatisfy(s -> {
            assertThat(s.getRunId()).isEqualTo(result.runId());
            assertThat(s.getKdLoss()).isPositive();
            assertThat(s.getAlpha()).isEqualTo(DEFAULT_ALPHA); // the fixture leaves kd.alpha at its default
        });
        List<RunManifest> manifests = Fixtures.readAll(config, config.topics().runs(), RunManifest.class);
        assertThat(manifests).extracting(RunManifest::getStatus).containsExactly(RunStatus.STARTED, RunStatus.FINISHED);
        assertThat(manifests.get(1).getConfig()).containsEntry(TrainerConfig.SEED_CONFIG, "42");
    }

    @Test
    void shouldRefuseToResumeWithOtherSettingsNamingTheSettingsThatDiffer(@TempDir Path dir) throws Exception {
        // Given a run stopped after 6 steps, its checkpoint written with T = 3
        Map<String, Object> props = Fixtures.props(kafka, registry, "resume", dir);
        Fixtures.createTopics(props);
        Fixtures.produce(props, 0, 300, Fixtures::valid);
        props.put(TrainerConfig.KD_TEMPERATURE_CONFIG, "3");
        props.put(TrainerConfig.MAX_STEPS_CONFIG, "6");
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props)).build()) {
            assertThat(trainer.run().steps()).isEqualTo(6);
        }

        // When it is resumed with T = 5, Then it refuses and says which setting differs
        props.put(TrainerConfig.KD_TEMPERATURE_CONFIG, "5");
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props)).build()) {
            assertThatThrownBy(trainer::run).isInstanceOf(io.kdstream.core.KdException.class)
                    .hasMessageContaining("kd.temperature: 3 then, 5 now")
                    .hasMessageNotContaining("trainer.seed");
        }
    }

    @Test
    void shouldDeadLetterFiftyCorruptedTeacherOutputsAndCompleteTraining(@TempDir Path dir) throws Exception {
        // Given 300 valid teacher outputs with 50 corrupted ones mixed in (garbage bytes, NaN logits, wrong shapes)
        Map<String, Object> props = Fixtures.props(kafka, registry, "dlq", dir);
        Fixtures.createTopics(props);
        Fixtures.produce(props, 0, 350, i -> i % 7 == 3 && i < 350 ? Fixtures.corrupted(i) : Fixtures.valid(i));

        // When the trainer runs two epochs over them
        Trainer.Result result;
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props)).build()) {
            result = trainer.run();
        }

        // Then training completes on the 300 good ones and each bad one is dead-lettered once
        assertThat(result.completed()).isTrue();
        assertThat(result.samples()).isEqualTo(2 * 300);
        KdConfig config = new KdConfig(props);
        List<FailureEvent> dead = Fixtures.readAll(config, config.topics().dlq(), FailureEvent.class);
        assertThat(dead).hasSize(50);
        assertThat(dead).allSatisfy(e -> {
            assertThat(e.getComponent()).isEqualTo(Trainer.COMPONENT);
            assertThat(e.getSource()).isNotNull();
            assertThat(e.getOriginalValue()).isNotNull();
        });
        assertThat(dead).extracting(FailureEvent::getKind)
                .contains(FailureKind.DESERIALIZATION, FailureKind.NON_FINITE, FailureKind.SHAPE);
    }

    @Test
    void shouldSkipNonFiniteStepsAndStopOnceTheFailureBudgetIsSpent(@TempDir Path dir) throws Exception {
        // Given teacher outputs whose inputs are finite but so large that every loss overflows
        Map<String, Object> props = Fixtures.props(kafka, registry, "nan", dir);
        props.put(TrainerConfig.FAILURES_MAX_CONFIG, "2");
        props.put(TrainerConfig.FAILURES_WINDOW_CONFIG, "10");
        props.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "0");
        Fixtures.createTopics(props);
        Fixtures.produce(props, 0, 200, i -> {
            TeacherOutput t = Fixtures.valid(i);
            float[] huge = new float[784];
            java.util.Arrays.fill(huge, 3e38f);
            t.setInput(TensorCodec.fromFloats(huge, DType.FLOAT32, 1, 28, 28));
            return t;
        });

        // When the trainer runs, Then it stops at the third failed step with an error naming the budget
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props)).build()) {
            org.assertj.core.api.Assertions.assertThatThrownBy(trainer::run)
                    .isInstanceOf(io.kdstream.core.KdException.class)
                    .hasMessageContaining("3 failed steps within the last 10 steps")
                    .hasMessageContaining(TrainerConfig.FAILURES_MAX_CONFIG);
        }
        // ... after dead-lettering each skipped step as NON_FINITE with its batch's first record and publishing it
        KdConfig config = new KdConfig(props);
        List<FailureEvent> dead = Fixtures.readAll(config, config.topics().dlq(), FailureEvent.class);
        assertThat(dead).hasSize(3).allSatisfy(e -> {
            assertThat(e.getKind()).isEqualTo(FailureKind.NON_FINITE);
            assertThat(e.getSource().getTopic()).isEqualTo("nan.teacher-outputs");
            assertThat(e.getMessage()).contains("non-finite loss");
        });
        List<TrainingStep> steps = Fixtures.readAll(config, config.topics().metrics(), TrainingStep.class);
        assertThat(steps).hasSize(3).allSatisfy(s -> assertThat(Double.isFinite(s.getTotalLoss())).isFalse());
        assertThat(Fixtures.readAll(config, config.topics().runs(), RunManifest.class)).extracting(RunManifest::getStatus)
                .containsExactly(RunStatus.STARTED, RunStatus.FAILED);
    }

    /** Test data and helpers shared by the trainer and replay ITs. */
    static final class Fixtures {
        static final String TEACHER_SHA = "ab".repeat(32);
        private static final FashionMnist TRAIN = FashionMnist.load(FashionMnist.DEFAULT_DIR, FashionMnist.Split.TRAIN);

        private Fixtures() {
        }

        /** Trainer properties with topics prefixed by {@code prefix}, so tests sharing a broker stay apart. */
        static Map<String, Object> props(KafkaTestCluster kafka, TestRegistry registry, String prefix, Path dir) {
            Map<String, Object> p = new HashMap<>();
            p.put("bootstrap.servers", kafka.bootstrapServers());
            p.put("schema.registry.url", registry.url());
            TopicProps.prefixed(p, prefix);
            p.put(KdConfig.TOPICS_PARTITIONS_CONFIG, "2");
            p.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, dir.resolve("run").toString());
            p.put(TrainerConfig.GROUP_CONFIG, prefix + "-trainer");
            p.put(TrainerConfig.EPOCHS_CONFIG, "2");
            p.put(TrainerConfig.BATCH_SIZE_CONFIG, "32");
            p.put(TrainerConfig.SHUFFLE_BUFFER_CONFIG, "128");
            p.put(TrainerConfig.CHECKPOINT_INTERVAL_CONFIG, "5");
            p.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "500");
            p.put(TrainerConfig.LEARNING_RATE_CONFIG, "0.002");
            return p;
        }

        static void createTopics(Map<String, Object> props) throws Exception {
            io.kdstream.it.support.ItTopics.createWithLeaders(new KdConfig(props));
        }

        /** A teacher output for training image {@code i}: soft logits, a deterministic function of the label. */
        static TeacherOutput valid(int i) {
            int label = TRAIN.label(i);
            float[] logits = new float[FashionMnist.NUM_CLASSES];
            for (int c = 0; c < logits.length; c++) {
                // the true class dominates; "similar" classes (neighbouring indices) keep some mass
                logits[c] = c == label ? 6f : 2f - Math.abs(c - label) * 0.5f + ((c * 7 + label * 3) % 5) * 0.1f;
            }
            return TeacherOutput.newBuilder()
                    .setInputId("fmnist-train-" + i)
                    .setInput(TensorCodec.fromUint8(TRAIN.image(i), 1, 28, 28))
                    .setLabel(label)
                    .setLabels(null)
                    .setTeacher(new TeacherInfo("fixture-teacher", "1", TEACHER_SHA))
                    .setLogits(new Logits(FashionMnist.NUM_CLASSES, TensorCodec.fromFloats(logits, DType.FLOAT32, logits.length), null))
                    .setFeatures(List.of())
                    .setSource(new SourceCoordinates("kd.inputs", 0, (long) i))
                    .setProducedAtMs(Instant.ofEpochMilli(1_700_000_000_000L))
                    .setAttributes(Map.of())
                    .build();
        }

        /** A marker for a corrupted record: {@link #produce} turns it into bad bytes or a bad tensor. */
        static TeacherOutput corrupted(int i) {
            TeacherOutput t = valid(i);
            switch (i % 3) {
                case 0 -> t.getLogits().setValues(TensorCodec.fromFloats(new float[] {Float.NaN, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                        DType.FLOAT32, 10));
                case 1 -> t.setInput(TensorCodec.fromUint8(new byte[10], 10));
                default -> t.setInputId(GARBAGE);
            }
            return t;
        }

        private static final String GARBAGE = "<garbage>";

        /** Produces records {@code from..to-1} to the teacher-outputs topic, round-robin over its partitions. */
        static void produce(Map<String, Object> props, int from, int to, Function<Integer, TeacherOutput> records) throws Exception {
            KdConfig config = new KdConfig(props);
            Serializer<TeacherOutput> serializer = KdAvroSerdes.value(TeacherOutput.class, config.serdeProperties()).serializer();
            String topic = config.topics().teacherOutputs();
            int partitions;
            try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
                partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).size();
            }
            List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>(to - from);
            for (int i = from; i < to; i++) {
                TeacherOutput t = records.apply(i);
                byte[] value = GARBAGE.equals(t.getInputId())
                        ? ("not avro " + i).getBytes(StandardCharsets.UTF_8)
                        : serializer.serialize(topic, t);
                out.add(new ProducerRecord<>(topic, i % partitions, t.getInputId().getBytes(StandardCharsets.UTF_8), value));
            }
            ConfirmedSends.sendAll(config, "fixture", out);
        }

        /** Every record of {@code topic}, decoded, partition by partition in offset order. */
        static <T extends org.apache.avro.specific.SpecificRecord> List<T> readAll(KdConfig config, String topic, Class<T> type) {
            return io.kdstream.it.support.ItTopics.readAll(config, topic, type);
        }
    }
}
