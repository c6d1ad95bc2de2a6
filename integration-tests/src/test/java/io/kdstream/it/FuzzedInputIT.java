package io.kdstream.it;

import io.kdstream.avro.DType;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.InputRecord;
import io.kdstream.avro.Logits;
import io.kdstream.avro.SourceCoordinates;
import io.kdstream.avro.TeacherInfo;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.avro.Tensor;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.model.ModelStore;
import io.kdstream.core.model.SavedModel;
import io.kdstream.core.zoo.Architecture;
import io.kdstream.core.zoo.FeatureBlock;
import io.kdstream.core.zoo.ModelZoo;
import io.kdstream.it.support.KafkaTestCluster;
import io.kdstream.it.support.TestRegistry;
import io.kdstream.it.support.TopicProps;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.serde.KdSerdeConfig;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.TeacherLoader;
import io.kdstream.teacher.serve.TeacherConfig;
import io.kdstream.teacher.serve.TeacherService;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Ten thousand malformed records, seeded, mixed with valid ones on the inputs and the teacher-outputs topics, through
 * the real teacher-service and the real trainer on an in-process broker: nothing crashes, every malformed record is
 * dead-lettered once with the kind it deserves, every valid record is processed, and the counts add up exactly.
 */
class FuzzedInputIT {

    private static final long SEED = 20_261_122L;
    private static final int MALFORMED_INPUTS = 5_000;
    private static final int MALFORMED_OUTPUTS = 5_000;
    private static final int VALID_INPUTS = 1_200;
    private static final int UNLABELLED_INPUTS = 100;
    private static final int VALID_OUTPUTS = 800;
    private static final String PREFIX = "fuzz";
    /** Record limit of the consuming stages; the fuzzer writes {@link Mutation#OVERSIZED_RECORD}s above it. */
    private static final int MAX_RECORD_BYTES = 32 * 1024;

    private static KafkaTestCluster kafka;
    private static TestRegistry registry;

    @BeforeAll
    static void start() {
        kafka = KafkaTestCluster.start();
        registry = TestRegistry.start(kafka.bootstrapServers());
    }

    @AfterAll
    static void stop() {
        if (registry != null) {
            registry.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    /** How one fuzzed record is built and which kind its dead letter must carry. */
    private enum Mutation {
        RANDOM_BYTES(FailureKind.DESERIALIZATION),
        WRONG_MAGIC_BYTE(FailureKind.DESERIALIZATION),
        UNKNOWN_SCHEMA_ID(FailureKind.SCHEMA),
        TRUNCATED_AVRO(FailureKind.DESERIALIZATION),
        HOSTILE_LENGTH_PREFIX(FailureKind.DESERIALIZATION),
        EMPTY_VALUE(FailureKind.DESERIALIZATION),
        TOMBSTONE(FailureKind.DESERIALIZATION),
        WRONG_RECORD_TYPE(FailureKind.SCHEMA),
        WRONG_DTYPE(FailureKind.DTYPE),
        WRONG_SHAPE(FailureKind.SHAPE),
        NAN_INPUT(FailureKind.NON_FINITE),
        INFINITE_INPUT(FailureKind.NON_FINITE),
        HUGE_CLAIMED_SHAPE(FailureKind.SHAPE),
        /** A record above the stages' {@code kdstream.avro.max.record.bytes}: its dead letter must still fit. */
        OVERSIZED_RECORD(FailureKind.OVERSIZED),
        // teacher outputs only
        NAN_LOGITS(FailureKind.NON_FINITE),
        WRONG_CLASS_COUNT(FailureKind.SHAPE),
        TOP_K_INDEX_OUT_OF_RANGE(FailureKind.SHAPE),
        NO_INPUT_TENSOR(FailureKind.SHAPE);

        final FailureKind kind;

        Mutation(FailureKind kind) {
            this.kind = kind;
        }

        static final List<Mutation> FOR_INPUTS = List.of(RANDOM_BYTES, WRONG_MAGIC_BYTE, UNKNOWN_SCHEMA_ID, TRUNCATED_AVRO,
                HOSTILE_LENGTH_PREFIX, EMPTY_VALUE, TOMBSTONE, WRONG_RECORD_TYPE, WRONG_DTYPE, WRONG_SHAPE, NAN_INPUT,
                INFINITE_INPUT, HUGE_CLAIMED_SHAPE, OVERSIZED_RECORD);
        static final List<Mutation> FOR_OUTPUTS = List.of(values());
    }

    @Test
    void shouldDeadLetterEveryMalformedRecordWithItsKindAndProcessEveryValidOne(@TempDir Path dir) throws Exception {
        // Given a seeded mix of valid and malformed records on the inputs and the teacher-outputs topics
        Map<String, Object> props = props(dir);
        KdConfig config = new KdConfig(props);
        try (TopicAdmin admin = new TopicAdmin(KafkaClients.admin(config), Duration.ofSeconds(30), true)) {
            admin.ensureTopics(TopicAdmin.catalog(config));
        }
        Fuzzer fuzzer = new Fuzzer(new Random(SEED), config);
        Expected expected = fuzzer.produceAll();
        int producedInputs = MALFORMED_INPUTS + VALID_INPUTS + UNLABELLED_INPUTS;
        int injectedOutputs = MALFORMED_OUTPUTS + VALID_OUTPUTS;

        // When the teacher-service scores every input
        try (Teacher teacher = randomTeacher(dir.resolve("teacher"))) {
            try (TeacherService service = TeacherService.builder().setConfig(new TeacherConfig(teacherProps(props)))
                    .setTeacher(teacher).build()) {
                service.start();
                long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
                while (service.metrics().snapshot().inputs() < producedInputs) {
                    assertThat(service.isRunning()).as("every teacher worker is alive").isTrue();
                    assertThat(System.nanoTime()).as("teacher consumed every input within 3 minutes").isLessThan(deadline);
                    Thread.sleep(50);
                }
                assertThat(service.isRunning()).isTrue();
                assertThat(service.metrics().snapshot().inputs()).isEqualTo(producedInputs);
            }
        }

        // ... and then the trainer trains one epoch on everything the teacher-outputs topic holds
        Trainer.Result result;
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props)).build()) {
            result = trainer.run();
        }

        // Then the teacher wrote exactly one output per valid input and one dead letter of the right kind per malformed one
        List<ConsumerRecord<byte[], byte[]>> outputs = readAll(config, config.topics().teacherOutputs());
        Map<String, Integer> outputsPerInput = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : outputs) {
            String key = new String(r.key(), StandardCharsets.UTF_8);
            if (key.startsWith("in-")) {
                outputsPerInput.merge(key, 1, Integer::sum);
            }
        }
        assertThat(outputsPerInput.keySet()).isEqualTo(expected.teacherValid);
        assertThat(outputsPerInput.values()).allMatch(n -> n == 1);

        Deserializer<FailureEvent> failures = KdAvroSerdes.value(FailureEvent.class, config.serdeProperties()).deserializer();
        Map<String, FailureKind> teacherDead = new HashMap<>();
        Map<String, FailureKind> trainerDead = new HashMap<>();
        int duplicates = 0;
        int oversized = 0;
        for (ConsumerRecord<byte[], byte[]> r : readAll(config, config.topics().dlq())) {
            FailureEvent e = failures.deserialize(config.topics().dlq(), r.value());
            String key = new String(r.key(), StandardCharsets.UTF_8);
            Map<String, FailureKind> target = TeacherService.COMPONENT.equals(e.getComponent()) ? teacherDead : trainerDead;
            if (target.put(key, e.getKind()) != null) {
                duplicates++;
            }
            assertThat(e.getSource()).as("dead letter of " + key + " names its source").isNotNull();
            if (e.getKind() == FailureKind.OVERSIZED) {
                oversized++;
                assertThat(e.getOriginalValue()).as("oversized original of " + key + " left out").isNull();
                assertThat(Integer.parseInt(e.getAttributes().get("originalValueBytes"))).isGreaterThan(MAX_RECORD_BYTES);
                assertThat(e.getAttributes().get("originalValueSha256")).matches("[0-9a-f]{64}");
            } else if (r.value().length < MAX_RECORD_BYTES / 2) {
                assertThat(e.getAttributes()).as("small dead letter of " + key + " keeps its bytes").doesNotContainKey("originalValueOmitted");
            }
        }
        assertThat(oversized).as("oversized records dead-lettered").isPositive();
        assertThat(duplicates).as("records dead-lettered twice by the same stage").isZero();
        assertThat(teacherDead).isEqualTo(expected.teacherDead);
        assertThat(trainerDead).isEqualTo(expected.trainerDead);

        // ... and the trainer trained on every valid record exactly once and dead-lettered the rest
        assertThat(result.completed()).isTrue();
        assertThat(result.failedSteps()).isZero();
        assertThat(result.samples()).isEqualTo(expected.trainerValid);
        assertThat(result.deadLetters()).isEqualTo(expected.trainerDead.size());
        long teacherOutputs = outputsPerInput.size();
        assertThat(producedInputs).isEqualTo(teacherOutputs + teacherDead.size());
        assertThat(outputs).hasSize((int) (teacherOutputs + injectedOutputs));
        assertThat((long) outputs.size()).isEqualTo(result.samples() + trainerDead.size());

        System.out.printf(Locale.ROOT, "FuzzedInputIT seed=%d malformed=%d (inputs %d, teacher-outputs %d)%n", SEED,
                MALFORMED_INPUTS + MALFORMED_OUTPUTS, MALFORMED_INPUTS, MALFORMED_OUTPUTS);
        System.out.printf(Locale.ROOT, "  teacher: produced %d = processed %d + dead-lettered %d; by kind %s%n",
                producedInputs, teacherOutputs, teacherDead.size(), byKind(teacherDead));
        System.out.printf(Locale.ROOT, "  trainer: records %d = trained %d + dead-lettered %d; by kind %s; steps %d%n",
                outputs.size(), result.samples(), trainerDead.size(), byKind(trainerDead), result.steps());
    }

    private static Map<FailureKind, Integer> byKind(Map<String, FailureKind> dead) {
        Map<FailureKind, Integer> out = new EnumMap<>(FailureKind.class);
        dead.values().forEach(k -> out.merge(k, 1, Integer::sum));
        return out;
    }

    private static Map<String, Object> props(Path dir) {
        Map<String, Object> p = new HashMap<>();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("schema.registry.url", registry.url());
        TopicProps.prefixed(p, PREFIX);
        p.put(KdConfig.TOPICS_PARTITIONS_CONFIG, "3");
        p.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, dir.resolve("run").toString());
        p.put(TrainerConfig.GROUP_CONFIG, PREFIX + "-trainer");
        p.put(TrainerConfig.EPOCHS_CONFIG, "1");
        p.put(TrainerConfig.BATCH_SIZE_CONFIG, "32");
        p.put(TrainerConfig.SHUFFLE_BUFFER_CONFIG, "256");
        p.put(TrainerConfig.CHECKPOINT_INTERVAL_CONFIG, "20");
        p.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "0");
        p.put(KdSerdeConfig.MAX_RECORD_BYTES_CONFIG, Integer.toString(MAX_RECORD_BYTES));
        return p;
    }

    private static Map<String, Object> teacherProps(Map<String, Object> base) {
        Map<String, Object> p = new HashMap<>();
        base.forEach((k, v) -> {
            if (!k.startsWith("trainer.")) {
                p.put(k, v);
            }
        });
        p.put(TeacherConfig.GROUP_ID_CONFIG, PREFIX + "-teacher");
        p.put(TeacherConfig.TRANSACTIONAL_ID_PREFIX_CONFIG, PREFIX + "-teacher");
        p.put(TeacherConfig.WORKERS_CONFIG, 2);
        p.put(TeacherConfig.BATCH_MAX_SIZE_CONFIG, 64);
        p.put(TeacherConfig.BATCH_MAX_WAIT_MS_CONFIG, 10);
        p.put(TeacherConfig.DEVICE_CONFIG, "cpu");
        p.put(TeacherConfig.METRICS_INTERVAL_MS_CONFIG, 0);
        p.put(TeacherConfig.RETRY_BACKOFF_MS_CONFIG, 100);
        p.put("session.timeout.ms", 10_000);
        p.put("heartbeat.interval.ms", 1_000);
        return p;
    }

    /** A freshly initialised zoo model, saved and loaded the way a served teacher is. */
    static Teacher randomTeacher(Path dir) {
        Architecture arch = ModelZoo.studentMlp();
        Engine.getEngine("PyTorch").setRandomSeed(7);
        SavedModel saved;
        try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            FeatureBlock block = arch.newBlock();
            block.initialize(manager, DataType.FLOAT32, new Shape(1, 1, 28, 28));
            saved = ModelStore.saveTo(dir, block, ModelMetadata.draft(arch, ModelStore.PARAMETERS_FILE));
        }
        return TeacherLoader.loadZoo(saved, Device.cpu());
    }

    /** What the stages must do with the produced records. */
    private static final class Expected {
        final Set<String> teacherValid = new HashSet<>();
        final Map<String, FailureKind> teacherDead = new HashMap<>();
        final Map<String, FailureKind> trainerDead = new HashMap<>();
        int trainerValid;
    }

    /** Builds and sends the seeded records. */
    private static final class Fuzzer {
        private final Random rng;
        private final KdConfig config;
        private final Serializer<InputRecord> inputs;
        private final Serializer<TeacherOutput> outputs;
        private final String inputsTopic;
        private final String outputsTopic;

        Fuzzer(Random rng, KdConfig config) {
            this.rng = rng;
            this.config = config;
            // the producing side writes inconsistent tensors too; only the consuming stages check them
            Map<String, Object> serde = new HashMap<>(config.serdeProperties());
            serde.put(KdSerdeConfig.VALIDATE_TENSORS_CONFIG, false);
            serde.put(KdSerdeConfig.MAX_RECORD_BYTES_CONFIG, 16 * MAX_RECORD_BYTES);
            this.inputs = KdAvroSerdes.value(InputRecord.class, serde).serializer();
            this.outputs = KdAvroSerdes.value(TeacherOutput.class, serde).serializer();
            this.inputsTopic = config.topics().inputs();
            this.outputsTopic = config.topics().teacherOutputs();
        }

        Expected produceAll() {
            Expected expected = new Expected();
            // inputs: a shuffled mix of valid, unlabelled (valid for both stages) and malformed
            List<Object> inputPlan = new ArrayList<>();
            for (int i = 0; i < VALID_INPUTS; i++) {
                inputPlan.add("valid");
            }
            for (int i = 0; i < UNLABELLED_INPUTS; i++) {
                inputPlan.add("unlabelled");
            }
            for (int i = 0; i < MALFORMED_INPUTS; i++) {
                inputPlan.add(Mutation.FOR_INPUTS.get(i % Mutation.FOR_INPUTS.size()));
            }
            java.util.Collections.shuffle(inputPlan, rng);
            List<Object> outputPlan = new ArrayList<>();
            for (int i = 0; i < VALID_OUTPUTS; i++) {
                outputPlan.add("valid");
            }
            for (int i = 0; i < MALFORMED_OUTPUTS; i++) {
                outputPlan.add(Mutation.FOR_OUTPUTS.get(i % Mutation.FOR_OUTPUTS.size()));
            }
            java.util.Collections.shuffle(outputPlan, rng);
            try (Producer<byte[], byte[]> producer = KafkaClients.producer(config, "fuzzer",
                    Map.of("max.request.size", 4 * 1024 * 1024))) {
                for (int i = 0; i < inputPlan.size(); i++) {
                    String key = String.format(Locale.ROOT, "in-%05d", i);
                    Object what = inputPlan.get(i);
                    byte[] value;
                    if (what instanceof Mutation m) {
                        value = malformedInput(key, m);
                        expected.teacherDead.put(key, m.kind);
                    } else {
                        boolean labelled = "valid".equals(what);
                        value = inputs.serialize(inputsTopic, input(key, image(), labelled ? rng.nextInt(10) : null));
                        expected.teacherValid.add(key);
                        // an unlabelled input trains on the distillation terms alone: valid for the trainer too
                        expected.trainerValid++;
                    }
                    producer.send(new ProducerRecord<>(inputsTopic, key.getBytes(StandardCharsets.UTF_8), value));
                }
                for (int i = 0; i < outputPlan.size(); i++) {
                    String key = String.format(Locale.ROOT, "out-%05d", i);
                    Object what = outputPlan.get(i);
                    byte[] value;
                    if (what instanceof Mutation m) {
                        value = malformedOutput(key, m);
                        expected.trainerDead.put(key, m.kind);
                    } else {
                        value = outputs.serialize(outputsTopic, output(key));
                        expected.trainerValid++;
                    }
                    producer.send(new ProducerRecord<>(outputsTopic, key.getBytes(StandardCharsets.UTF_8), value));
                }
                producer.flush();
            }
            return expected;
        }

        private byte[] malformedInput(String key, Mutation m) {
            return switch (m) {
                case WRONG_RECORD_TYPE -> outputs.serialize(outputsTopic, output(key));
                case WRONG_DTYPE -> inputs.serialize(inputsTopic, input(key, TensorCodec.fromInts(new int[784], 1, 28, 28), 1));
                case WRONG_SHAPE -> inputs.serialize(inputsTopic, input(key, TensorCodec.fromUint8(new byte[27 * 27], 27, 27), 1));
                case NAN_INPUT -> inputs.serialize(inputsTopic, input(key, floats(Float.NaN), 1));
                case INFINITE_INPUT -> inputs.serialize(inputsTopic, input(key, floats(Float.NEGATIVE_INFINITY), 1));
                case HUGE_CLAIMED_SHAPE -> inputs.serialize(inputsTopic, input(key, hugeShape(), 1));
                case OVERSIZED_RECORD -> inputs.serialize(inputsTopic, input(key, oversized(), 1));
                default -> wireMutation(m, inputs.serialize(inputsTopic, input(key, image(), rng.nextInt(10))));
            };
        }

        private byte[] malformedOutput(String key, Mutation m) {
            TeacherOutput t = output(key);
            switch (m) {
                case WRONG_RECORD_TYPE -> {
                    return inputs.serialize(inputsTopic, input(key, image(), 1));
                }
                case WRONG_DTYPE -> t.setInput(TensorCodec.fromInts(new int[784], 1, 28, 28));
                case WRONG_SHAPE -> t.setInput(TensorCodec.fromUint8(new byte[27 * 27], 27, 27));
                case NAN_INPUT -> t.setInput(floats(Float.NaN));
                case INFINITE_INPUT -> t.setInput(floats(Float.POSITIVE_INFINITY));
                case HUGE_CLAIMED_SHAPE -> t.setInput(hugeShape());
                case OVERSIZED_RECORD -> t.setInput(oversized());
                case NAN_LOGITS -> {
                    float[] logits = logits();
                    logits[rng.nextInt(logits.length)] = rng.nextBoolean() ? Float.NaN : Float.POSITIVE_INFINITY;
                    t.getLogits().setValues(TensorCodec.fromFloats(logits, DType.FLOAT32, logits.length));
                }
                case WRONG_CLASS_COUNT -> t.setLogits(new Logits(7, TensorCodec.fromFloats(new float[7], DType.FLOAT32, 7), null));
                case TOP_K_INDEX_OUT_OF_RANGE -> t.setLogits(new Logits(10, TensorCodec.fromFloats(new float[] {3f, 2f}, DType.FLOAT32, 2),
                        TensorCodec.fromInts(new int[] {1, 10 + rng.nextInt(1000)}, 2)));
                case NO_INPUT_TENSOR -> t.setInput(null);
                default -> {
                    return wireMutation(m, outputs.serialize(outputsTopic, t));
                }
            }
            return outputs.serialize(outputsTopic, t);
        }

        /** Damage done to the bytes of a valid record. */
        private byte[] wireMutation(Mutation m, byte[] valid) {
            switch (m) {
                case RANDOM_BYTES -> {
                    byte[] b = new byte[1 + rng.nextInt(300)];
                    rng.nextBytes(b);
                    b[0] = (byte) (1 + rng.nextInt(255));
                    return b;
                }
                case WRONG_MAGIC_BYTE -> {
                    valid[0] = (byte) (1 + rng.nextInt(255));
                    return valid;
                }
                case UNKNOWN_SCHEMA_ID -> {
                    ByteBuffer.wrap(valid, 1, 4).putInt(1_000_000 + rng.nextInt(1_000));
                    return valid;
                }
                case TRUNCATED_AVRO -> {
                    return Arrays.copyOf(valid, 1 + rng.nextInt(valid.length - 1));
                }
                case HOSTILE_LENGTH_PREFIX -> {
                    // the header of a real schema, then a length or count far larger than the bytes that follow
                    ByteArrayOutputStream b = new ByteArrayOutputStream();
                    b.write(valid, 0, 5);
                    long claimed = rng.nextBoolean() ? (1L << 20) + rng.nextInt(Integer.MAX_VALUE - (1 << 20)) : -1 - rng.nextInt(1_000_000);
                    long zigzag = (claimed << 1) ^ (claimed >> 63);
                    while ((zigzag & ~0x7FL) != 0) {
                        b.write((int) ((zigzag & 0x7F) | 0x80));
                        zigzag >>>= 7;
                    }
                    b.write((int) zigzag);
                    byte[] tail = new byte[rng.nextInt(64)];
                    rng.nextBytes(tail);
                    b.write(tail, 0, tail.length);
                    return b.toByteArray();
                }
                case EMPTY_VALUE -> {
                    return new byte[0];
                }
                case TOMBSTONE -> {
                    return null;
                }
                default -> throw new IllegalArgumentException("not a wire mutation: " + m);
            }
        }

        /** A float tensor whose bytes alone exceed the stages' record limit. */
        private Tensor oversized() {
            int n = MAX_RECORD_BYTES / 4 + 1_000 + rng.nextInt(2_000);
            float[] f = new float[n];
            for (int i = 0; i < n; i++) {
                f[i] = rng.nextFloat();
            }
            return TensorCodec.fromFloats(f, DType.FLOAT32, n);
        }

        private Tensor image() {
            byte[] px = new byte[784];
            rng.nextBytes(px);
            return rng.nextInt(4) == 0 ? floatsFrom(px) : TensorCodec.fromUint8(px, 1, 28, 28);
        }

        private static Tensor floatsFrom(byte[] px) {
            float[] f = new float[px.length];
            for (int i = 0; i < px.length; i++) {
                f[i] = (px[i] & 0xff) / 255f;
            }
            return TensorCodec.fromFloats(f, DType.FLOAT32, 1, 28, 28);
        }

        private Tensor floats(float poison) {
            float[] f = new float[784];
            for (int i = 0; i < f.length; i++) {
                f[i] = rng.nextFloat();
            }
            f[rng.nextInt(f.length)] = poison;
            return TensorCodec.fromFloats(f, DType.FLOAT32, 1, 28, 28);
        }

        /** A tensor whose shape claims billions of elements over a few hundred bytes of data. */
        private Tensor hugeShape() {
            byte[] data = new byte[1 + rng.nextInt(784)];
            List<Integer> shape = List.of(1 + rng.nextInt(64), 1 << 16, 1 << 16);
            return Tensor.newBuilder().setDtype(DType.UINT8).setShape(shape).setData(ByteBuffer.wrap(data)).build();
        }

        private float[] logits() {
            float[] logits = new float[10];
            for (int c = 0; c < logits.length; c++) {
                logits[c] = (float) rng.nextGaussian() * 3f;
            }
            return logits;
        }

        private static InputRecord input(String id, Tensor t, Integer label) {
            return InputRecord.newBuilder().setId(id).setSource("fuzz").setInput(t).setLabel(label)
                    .setTimestampMs(Instant.EPOCH).setAttributes(Map.of()).build();
        }

        private TeacherOutput output(String id) {
            float[] logits = logits();
            return TeacherOutput.newBuilder()
                    .setInputId(id)
                    .setInput(image())
                    .setLabel(rng.nextInt(10))
                    .setLabels(null)
                    .setTeacher(new TeacherInfo("fuzz-teacher", "1", "cd".repeat(32)))
                    .setLogits(new Logits(10, TensorCodec.fromFloats(logits, DType.FLOAT32, 10), null))
                    .setFeatures(List.of())
                    .setSource(new SourceCoordinates(inputsTopic, 0, 0L))
                    .setProducedAtMs(Instant.EPOCH)
                    .setAttributes(Map.of())
                    .build();
        }
    }

    /** Every committed record of a topic, read from the beginning to its end offsets. */
    private static List<ConsumerRecord<byte[], byte[]>> readAll(KdConfig config, String topic) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of("max.partition.fetch.bytes", 4 * 1024 * 1024))) {
            List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (parts.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                assertThat(System.nanoTime()).as("read " + topic + " to its end within 60 s").isLessThan(deadline);
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }
}
