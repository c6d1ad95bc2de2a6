package io.kdstream.it;

import io.kdstream.avro.DType;
import io.kdstream.avro.EvalResult;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.InputRecord;
import io.kdstream.avro.RunManifest;
import io.kdstream.avro.TrainingStep;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.it.support.ChildJvm;
import io.kdstream.it.support.ConfirmedSends;
import io.kdstream.it.support.KafkaTestCluster;
import io.kdstream.it.support.TestRegistry;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.trainer.Replay;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;
import io.kdstream.trainer.state.Checkpoint;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The EMA (mean) teacher end to end on a real broker: the trainer reads InputRecords from the inputs topic (no
 * teacher-service), dead-letters the bad ones, keeps the EMA in its checkpoint (a hard-killed run resumes to the
 * uninterrupted model) and replays bit for bit.
 */
class EmaTrainerIT {
    private static final FashionMnist TRAIN = FashionMnist.load(FashionMnist.DEFAULT_DIR, FashionMnist.Split.TRAIN);
    private static final String GARBAGE = "<garbage>";

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

    private static Map<String, Object> props(String prefix, Path dir) {
        Map<String, Object> p = TrainerIT.Fixtures.props(kafka, registry, prefix, dir);
        p.put(TrainerConfig.TEACHER_CONFIG, "ema");
        p.put(TrainerConfig.EMA_DECAY_CONFIG, "0.95");
        p.put(TrainerConfig.LABEL_FRACTION_CONFIG, "0.5");
        // both perturbations on, so resume and replay cover the shifted views too
        p.put(TrainerConfig.AUGMENT_SHIFT_CONFIG, "2");
        return p;
    }

    /** Training image {@code i} as an InputRecord; every fifth one carries no label. */
    static InputRecord valid(int i) {
        return InputRecord.newBuilder()
                .setId("fmnist-train-" + i)
                .setSource("fashion-mnist/train")
                .setInput(TensorCodec.fromUint8(TRAIN.image(i), 28, 28))
                .setLabel(i % 5 == 0 ? null : TRAIN.label(i))
                .setLabels(null)
                .setTimestampMs(Instant.ofEpochMilli(1_700_000_000_000L + i))
                .setAttributes(Map.of())
                .build();
    }

    /** A bad input: undecodable bytes, a label out of range, a wrong-sized image or a NaN pixel. */
    static InputRecord bad(int i) {
        InputRecord r = valid(i);
        switch ((i / 10) % 4) {
            case 0 -> r.setId(GARBAGE + i);
            case 1 -> r.setLabel(42);
            case 2 -> r.setInput(TensorCodec.fromUint8(new byte[10], 10));
            default -> {
                float[] pixels = new float[784];
                pixels[100] = Float.NaN;
                r.setInput(TensorCodec.fromFloats(pixels, DType.FLOAT32, 28, 28));
            }
        }
        return r;
    }

    /** Produces records {@code from..to-1} to the inputs topic, round-robin over its partitions. */
    static void produce(Map<String, Object> props, int from, int to, java.util.function.IntFunction<InputRecord> records)
            throws Exception {
        KdConfig config = new KdConfig(props);
        Serializer<InputRecord> serializer = KdAvroSerdes.value(InputRecord.class, config.serdeProperties()).serializer();
        String topic = config.topics().inputs();
        int partitions;
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
            partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).size();
        }
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>(to - from);
        for (int i = from; i < to; i++) {
            InputRecord r = records.apply(i);
            byte[] value = r.getId().startsWith(GARBAGE) ? ("not avro " + i).getBytes(StandardCharsets.UTF_8)
                    : serializer.serialize(topic, r);
            out.add(new ProducerRecord<>(topic, i % partitions, r.getId().getBytes(StandardCharsets.UTF_8), value));
        }
        ConfirmedSends.sendAll(config, "fixture", out);
    }

    @Test
    void shouldTrainFromTheInputsTopicDeadLetterBadInputsAndReplayBitForBit(@TempDir Path dir) throws Exception {
        // Given 400 inputs on two partitions, 40 of them bad, a fifth of the rest unlabelled, and no teacher outputs
        Map<String, Object> props = props("ema", dir);
        TrainerIT.Fixtures.createTopics(props);
        produce(props, 0, 400, i -> i % 10 == 7 ? bad(i) : valid(i));

        // When an EMA-teacher run trains two epochs on them
        Trainer.Result result;
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props)).build()) {
            result = trainer.run();
        }

        // Then it trained on the 360 good inputs per epoch and dead-lettered each bad one once, with its reason
        assertThat(result.completed()).isTrue();
        assertThat(result.samples()).isEqualTo(2 * 360);
        assertThat(result.deadLetters()).isEqualTo(40);
        assertThat(result.accuracy()).isNotNull().isGreaterThan(0.3);
        assertThat(result.manifest().getRanges()).allSatisfy(r -> assertThat(r.getTopic()).isEqualTo("ema.inputs"));
        assertThat(result.manifest().getTeacherSha256()).isNull();
        KdConfig config = new KdConfig(props);
        List<FailureEvent> dead = TrainerIT.Fixtures.readAll(config, config.topics().dlq(), FailureEvent.class);
        assertThat(dead).hasSize(40).allSatisfy(e -> {
            assertThat(e.getComponent()).isEqualTo(Trainer.COMPONENT);
            assertThat(e.getSource().getTopic()).isEqualTo("ema.inputs");
            assertThat(e.getOriginalValue()).isNotNull();
            assertThat(e.getMessage()).isNotBlank();
        });
        assertThat(dead).extracting(FailureEvent::getKind)
                .contains(FailureKind.DESERIALIZATION, FailureKind.SHAPE, FailureKind.NON_FINITE);
        assertThat(dead).anySatisfy(e -> assertThat(e.getMessage()).contains("label 42"));

        // ... publishing the consistency term as the KD loss, its weight as alpha, and the EMA teacher's accuracy
        List<TrainingStep> steps = TrainerIT.Fixtures.readAll(config, config.topics().metrics(), TrainingStep.class);
        assertThat(steps).hasSize((int) result.steps()).allSatisfy(s -> {
            assertThat(s.getKdLoss()).isPositive();
            assertThat(s.getAlpha()).isEqualTo(0.5);
        });
        List<EvalResult> evals = TrainerIT.Fixtures.readAll(config, config.topics().eval(), EvalResult.class);
        assertThat(evals).isNotEmpty().allSatisfy(e -> {
            assertThat(e.getEmaTeacherAccuracy()).isNotNull().isGreaterThan(0.3);
            assertThat(e.getTeacherAccuracy()).isEqualTo(e.getEmaTeacherAccuracy());
            assertThat(e.getAgreement()).isNotNull().isBetween(0.0, 1.0);
        });

        // When the inputs topic has grown and the run is replayed from its manifest on the runs topic
        produce(props, 400, 480, EmaTrainerIT::valid);
        Map<String, Object> connection = Map.of("bootstrap.servers", kafka.bootstrapServers(), "schema.registry.url", registry.url());
        RunManifest manifest = Replay.findManifest(config, result.runId());
        Replay.Outcome outcome = Replay.run(manifest, connection, dir.resolve("replay"));

        // Then the replay trained on the same records and reproduced the parameters bit for bit
        assertThat(outcome.result().samples()).isEqualTo(result.samples());
        assertThat(outcome.result().modelSha256()).isEqualTo(result.modelSha256());
        assertThat(outcome.matches()).isTrue();
        // ... and the EMA teacher's weights, saved next to the student's, too
        var ema = Trainer.emaModel(result).orElseThrow();
        assertThat(ema.dir()).isEqualTo(result.modelDir().resolveSibling(Trainer.EMA_MODEL_DIR));
        assertThat(ema.metadata().parametersSha256()).isNotEqualTo(result.modelSha256());
        assertThat(Trainer.emaModel(outcome.result()).orElseThrow().metadata().parametersSha256())
                .isEqualTo(ema.metadata().parametersSha256());
    }

    @Test
    void shouldResumeAHardKilledEmaRunToTheUninterruptedModel(@TempDir Path dir) throws Exception {
        // Given 800 inputs and the model of an uninterrupted EMA-teacher run
        Map<String, Object> base = props("ema-crash", dir.resolve("reference"));
        base.put(TrainerConfig.CHECKPOINT_INTERVAL_CONFIG, "3");
        base.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "0");
        TrainerIT.Fixtures.createTopics(base);
        produce(base, 0, 800, EmaTrainerIT::valid);
        Trainer.Result reference;
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(base)).build()) {
            reference = trainer.run();
        }
        long totalSteps = reference.steps();

        // When a trainer process on the same config is killed (SIGKILL) at a random step in the first half
        Map<String, Object> props = new HashMap<>(base);
        props.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, dir.resolve("crashing").toString());
        props.put(TrainerConfig.RUN_ID_CONFIG, "ema-crash-run");
        Path file = dir.resolve("crash.properties");
        writeProperties(props, file);
        long killAt = 4 + new Random().nextInt((int) totalSteps / 2 - 4);
        Process first = launch(file, dir.resolve("first.log"));
        waitForStep(new KdConfig(props), "ema-crash-run", killAt, first);
        first.destroyForcibly();
        assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(Files.readString(dir.resolve("first.log"))).doesNotContain("model-sha256:");
        long checkpointed = Checkpoint.read(dir.resolve("crashing")).map(Checkpoint::step).orElse(0L);
        assertThat(checkpointed).isPositive().isLessThan(totalSteps);
        assertThat(Checkpoint.read(dir.resolve("crashing")).orElseThrow().arrays().keySet()).anyMatch(k -> k.startsWith("ema:"));

        // ... and started again
        Process second = launch(file, dir.resolve("second.log"));
        assertThat(second.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String out = Files.readString(dir.resolve("second.log"));
        assertThat(second.exitValue()).as(out).isZero();

        // Then it resumed from the checkpoint and its model (sha256 of the parameters) is the uninterrupted run's
        assertThat(out).contains("Resuming run ema-crash-run from checkpoint at step " + checkpointed);
        assertThat(out).contains("model-sha256: " + reference.modelSha256());
    }

    private static void writeProperties(Map<String, Object> props, Path file) throws IOException {
        Properties p = new Properties();
        props.forEach((k, v) -> p.setProperty(k, String.valueOf(v)));
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            p.store(w, "EMA crash test trainer");
        }
    }

    private static Process launch(Path properties, Path log) throws IOException {
        return ChildJvm.trainer(properties, log);
    }

    /** Follows the metrics topic until the run reports {@code step}. */
    private static void waitForStep(KdConfig config, String runId, long step, Process process) {
        Deserializer<TrainingStep> deserializer = KdAvroSerdes.value(TrainingStep.class, config.serdeProperties()).deserializer();
        String topic = config.topics().metrics();
        long last = 0;
        long deadline = System.currentTimeMillis() + 120_000;
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
            List<TopicPartition> tps = consumer.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            while (last < step) {
                assertThat(System.currentTimeMillis()).as("trainer reached step " + step).isLessThan(deadline);
                assertThat(process.isAlive()).as("trainer process alive").isTrue();
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(20))) {
                    TrainingStep s = deserializer.deserialize(topic, r.value());
                    if (runId.equals(s.getRunId())) {
                        last = Math.max(last, s.getStep());
                    }
                }
            }
        }
    }
}
