package io.kdstream.teacher.serve;

import io.kdstream.avro.DType;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.InputRecord;
import io.kdstream.avro.SourceCoordinates;
import io.kdstream.avro.TeacherFeatures;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.avro.Tensor;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.TeacherLoader;

import ai.djl.Device;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListTransactionsOptions;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The teacher-service on a real in-process broker, with the TorchScript fixture teacher (fast on CPU; on an all-white
 * image it returns NaN logits, which exercises the non-finite-output path).
 */
class TeacherServiceIT {

    private static TestKafka kafka;
    private static Teacher teacher;
    private static final String REGISTRY = "mock://teacher-it-" + UUID.randomUUID();

    @BeforeAll
    static void startKafka() throws Exception {
        kafka = TestKafka.start();
        teacher = TeacherLoader.load(Path.of(TeacherServiceIT.class.getResource("/torchscript/tiny_teacher.pt").toURI()), Device.cpu());
    }

    @AfterAll
    static void stopKafka() throws Exception {
        if (teacher != null) {
            teacher.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void shouldPublishExactlyOneOutputPerGoodInputAndOneDeadLetterOfTheRightKindPerBadInput() throws Exception {
        // Given 10,000 inputs on 4 partitions, 100 of them bad in six different ways
        String in = "it1.inputs";
        String out = "it1.outputs";
        String dlq = "it1.dlq";
        kafka.createTopics(4, in, out, out + "-features");
        kafka.createTopics(1, dlq);
        Map<String, FailureKind> expectedBad = produceInputs(in, 10_000);
        assertThat(expectedBad).hasSize(100);

        // When the service runs with two workers until it has committed every input
        try (TeacherService service = TeacherService.builder().setConfig(config(in, out, dlq, "it1", 2, 64)).setTeacher(teacher).build()) {
            service.start();
            await(() -> service.metrics().snapshot().inputs() >= 10_000, Duration.ofMinutes(3));
        }

        // Then read_committed readers see 9,900 distinct outputs and 100 dead letters, each of the right kind
        List<ConsumerRecord<byte[], byte[]>> outputs = readAll(out);
        List<ConsumerRecord<byte[], byte[]>> deadLetters = readAll(dlq);
        Map<String, ConsumerRecord<byte[], byte[]>> features = new HashMap<>();
        readAll(out + "-features").forEach(r -> features.put(r.partition() + "@" + r.offset(), r));
        try (KdAvroSerde<TeacherOutput> outSerde = KdAvroSerdes.value(TeacherOutput.class, Map.of("schema.registry.url", REGISTRY));
             KdAvroSerde<TeacherFeatures> featureSerde = KdAvroSerdes.value(TeacherFeatures.class, Map.of("schema.registry.url", REGISTRY));
             KdAvroSerde<FailureEvent> dlqSerde = KdAvroSerdes.value(FailureEvent.class, Map.of("schema.registry.url", REGISTRY))) {
            Set<String> ids = new HashSet<>();
            Set<String> named = new HashSet<>();
            for (ConsumerRecord<byte[], byte[]> r : outputs) {
                TeacherOutput o = outSerde.deserializer().deserialize(out, r.value());
                ids.add(o.getInputId());
                assertThat(o.getSource().getTopic()).isEqualTo(in);
                assertThat(o.getTeacher().getSha256()).isEqualTo(teacher.info().sha256());
                assertThat(o.getLogits().getNumClasses()).isEqualTo(10);
                // the feature maps are not in the output but on the companion topic, in the record it names
                assertThat(o.getFeatures()).isEmpty();
                SourceCoordinates ref = o.getFeaturesRef();
                assertThat(ref.getTopic()).isEqualTo(out + "-features");
                String at = ref.getPartition() + "@" + ref.getOffset();
                assertThat(named.add(at)).as("one output per feature record: " + at).isTrue();
                ConsumerRecord<byte[], byte[]> fr = features.get(at);
                assertThat(fr).as("committed feature record " + at).isNotNull();
                assertThat(fr.key()).isEqualTo(r.key());
                TeacherFeatures f = featureSerde.deserializer().deserialize(fr.topic(), fr.value());
                assertThat(f.getInputId()).isEqualTo(o.getInputId());
                assertThat(f.getSource()).isEqualTo(o.getSource());
                assertThat(f.getFeatures()).extracting(m -> m.getName() + "@" + m.getStride()).containsExactly("conv2@4", "embedding@0");
            }
            assertThat(outputs).hasSize(9_900);
            assertThat(features).as("exactly one committed feature record per output").hasSize(9_900);
            assertThat(ids).hasSize(9_900).doesNotContainAnyElementsOf(expectedBad.keySet());

            Map<String, FailureKind> actualBad = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> r : deadLetters) {
                FailureEvent e = dlqSerde.deserializer().deserialize(dlq, r.value());
                String id = new String(r.key(), StandardCharsets.UTF_8);
                assertThat(actualBad.put(id, e.getKind())).as("one dead letter per bad input: " + id).isNull();
                assertThat(e.getComponent()).isEqualTo(TeacherService.COMPONENT);
                assertThat(e.getSource().getTopic()).isEqualTo(in);
                assertThat(e.getOriginalValue()).isNotNull();
            }
            assertThat(actualBad).isEqualTo(expectedBad);
        }
    }

    @Test
    void shouldStillPublishExactlyOneOutputPerInputAfterACrashWithATransactionOpenAndARestart() throws Exception {
        // Given 4,000 good inputs, and sends that can be slowed down so that a transaction stays open for a while
        String in = "it2.inputs";
        String out = "it2.outputs";
        String dlq = "it2.dlq";
        kafka.createTopics(2, in, out, out + "-features");
        kafka.createTopics(1, dlq);
        produceGoodInputs(in, 4_000);
        Map<String, Object> props = props(in, out, dlq, "it2", 1, 16);
        props.put("interceptor.classes", SlowSends.class.getName());
        TeacherConfig config = new TeacherConfig(props);

        // When an instance is killed once it has committed some outputs and has a transaction open again, with records
        // written in it (a kill that lands between two transactions proves nothing: the next instance is killed again)
        long committedByKilled = 0;
        int open = 0;
        long heldBack = 0;
        int attempts = 0;
        try {
            while (open == 0 || heldBack == 0) {
                assertThat(++attempts).as("kills that landed outside a transaction with records").isLessThanOrEqualTo(4);
                SlowSends.delayMs = 0;
                TeacherService instance = TeacherService.builder().setConfig(config).setTeacher(teacher).build();
                instance.start();
                await(() -> instance.metrics().snapshot().outputs() >= 500, Duration.ofMinutes(2));
                // 16 sends of 15 ms: each transaction is open for about a quarter of a second
                SlowSends.delayMs = 15;
                await(() -> openTransactions("it2-teacher") > 0, Duration.ofSeconds(30));
                instance.kill();
                open = openTransactions("it2-teacher");
                heldBack = heldBack(out) + heldBack(out + "-features");
                committedByKilled += instance.metrics().snapshot().outputs();
            }
        } finally {
            SlowSends.delayMs = 0;
        }
        assertThat(committedByKilled).isLessThan(4_000);
        long committed = committedByKilled;

        // and a new instance with the same transactional ids takes over (fencing the open transaction, which aborts it)
        try (TeacherService second = TeacherService.builder().setConfig(config).setTeacher(teacher).build()) {
            second.start();
            await(() -> committed + second.metrics().snapshot().outputs() >= 4_000, Duration.ofMinutes(3));
        }

        // Then every input has exactly one committed output, and the records of the open transaction were never committed
        List<ConsumerRecord<byte[], byte[]>> outputs = readAll(out);
        Map<String, Integer> perKey = new HashMap<>();
        outputs.forEach(r -> perKey.merge(new String(r.key(), StandardCharsets.UTF_8), 1, Integer::sum));
        assertThat(perKey).hasSize(4_000);
        assertThat(perKey.values()).allMatch(n -> n == 1);
        assertThat(outputs).hasSize(4_000);
        Map<String, Integer> featuresPerKey = new HashMap<>();
        readAll(out + "-features").forEach(r -> featuresPerKey.merge(new String(r.key(), StandardCharsets.UTF_8), 1, Integer::sum));
        assertThat(featuresPerKey).as("companion feature records, each input once").hasSize(4_000);
        assertThat(featuresPerKey.values()).allMatch(n -> n == 1);
        assertThat(readAll(dlq)).isEmpty();
        // (the killed transaction may have held feature records only: they are written first)
        long aborted = readAll(out, "read_uncommitted").size() - outputs.size()
                + readAll(out + "-features", "read_uncommitted").size() - readAll(out + "-features").size();
        assertThat(aborted).as("records of the killed transaction, seen by read_uncommitted only").isPositive();
        System.out.printf("TeacherServiceIT crash: killed after %d committed outputs (%d attempt(s)) with %d transaction(s) open "
                + "and %d record(s) past the last stable offset; outputs 4,000, each input once; %d aborted records%n",
                committed, attempts, open, heldBack, aborted);
    }

    /** Transactions in the ONGOING state whose transactional id starts with {@code prefix}. */
    private static int openTransactions(String prefix) {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            return (int) admin.listTransactions(new ListTransactionsOptions().filterStates(List.of(TransactionState.ONGOING)))
                    .all().get(30, TimeUnit.SECONDS).stream().filter(t -> t.transactionalId().startsWith(prefix)).count();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (Exception e) {
            throw new IllegalStateException("cannot list transactions: " + e, e);
        }
    }

    /** Offsets between the last stable offset and the end of every partition of {@code topic}. */
    private static long heldBack(String topic) {
        Map<String, Object> base = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        Map<String, Object> committed = new HashMap<>(base);
        committed.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<byte[], byte[]> stable = new KafkaConsumer<>(committed, new ByteArrayDeserializer(), new ByteArrayDeserializer());
             KafkaConsumer<byte[], byte[]> all = new KafkaConsumer<>(base, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = stable.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            Map<TopicPartition, Long> lso = stable.endOffsets(tps);
            Map<TopicPartition, Long> end = all.endOffsets(tps);
            return tps.stream().mapToLong(tp -> end.get(tp) - lso.get(tp)).sum();
        }
    }

    private static TeacherConfig config(String in, String out, String dlq, String name, int workers, int batch) {
        return new TeacherConfig(props(in, out, dlq, name, workers, batch));
    }

    private static Map<String, Object> props(String in, String out, String dlq, String name, int workers, int batch) {
        Map<String, Object> p = new HashMap<>();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("schema.registry.url", REGISTRY);
        p.put("kd.topic.inputs", in);
        p.put("kd.topic.teacher.outputs", out);
        p.put("kd.topic.teacher.features", out + "-features");
        p.put("kd.topic.dlq", dlq);
        p.put(TeacherConfig.GROUP_ID_CONFIG, name + "-group");
        p.put(TeacherConfig.TRANSACTIONAL_ID_PREFIX_CONFIG, name + "-teacher");
        p.put(TeacherConfig.WORKERS_CONFIG, workers);
        p.put(TeacherConfig.BATCH_MAX_SIZE_CONFIG, batch);
        p.put(TeacherConfig.BATCH_MAX_WAIT_MS_CONFIG, 10);
        p.put(TeacherConfig.DEVICE_CONFIG, "cpu");
        p.put(TeacherConfig.METRICS_INTERVAL_MS_CONFIG, 5_000);
        p.put(TeacherConfig.RETRY_BACKOFF_MS_CONFIG, 100);
        p.put("session.timeout.ms", 6_000);
        p.put("heartbeat.interval.ms", 1_000);
        return p;
    }

    /** Produces {@code n} inputs; returns the ids of the bad ones and the kind each must be dead-lettered with. */
    private static Map<String, FailureKind> produceInputs(String topic, int n) throws Exception {
        Map<String, FailureKind> bad = new HashMap<>();
        FailureKind[] kinds = {FailureKind.DESERIALIZATION, FailureKind.SCHEMA, FailureKind.SHAPE, FailureKind.DTYPE,
                FailureKind.NON_FINITE, FailureKind.NON_FINITE};
        int[] counts = {20, 20, 15, 15, 15, 15};
        List<Integer> badSlots = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            badSlots.add(37 + i * 97);
        }
        try (KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, Map.of("schema.registry.url", REGISTRY));
             KafkaProducer<byte[], byte[]> producer = producer()) {
            int slot = 0;
            int kindIndex = 0;
            int leftOfKind = counts[0];
            for (int i = 0; i < n; i++) {
                String id = String.format("in-%05d", i);
                byte[] value;
                if (slot < badSlots.size() && badSlots.get(slot) == i) {
                    FailureKind kind = kinds[kindIndex];
                    value = switch (kindIndex) {
                        case 0 -> ("not avro " + i).getBytes(StandardCharsets.UTF_8);
                        case 1 -> {
                            byte[] v = serde.serializer().serialize(topic, input(id, TensorCodec.fromUint8(image(i), 28, 28)));
                            ByteBuffer.wrap(v, 1, 4).putInt(424_242);
                            yield v;
                        }
                        case 2 -> serde.serializer().serialize(topic, input(id, TensorCodec.fromUint8(new byte[27 * 27], 27, 27)));
                        case 3 -> serde.serializer().serialize(topic, input(id, TensorCodec.fromInts(new int[784], 28, 28)));
                        case 4 -> {
                            float[] px = new float[784];
                            px[i % 784] = Float.NaN;
                            yield serde.serializer().serialize(topic, input(id, TensorCodec.fromFloats(px, DType.FLOAT32, 28, 28)));
                        }
                        default -> {
                            byte[] white = new byte[784];
                            Arrays.fill(white, (byte) 255);
                            yield serde.serializer().serialize(topic, input(id, TensorCodec.fromUint8(white, 28, 28)));
                        }
                    };
                    bad.put(id, kind);
                    slot++;
                    if (--leftOfKind == 0 && kindIndex < kinds.length - 1) {
                        leftOfKind = counts[++kindIndex];
                    }
                } else {
                    value = serde.serializer().serialize(topic, input(id, TensorCodec.fromUint8(image(i), 28, 28)));
                }
                producer.send(new ProducerRecord<>(topic, id.getBytes(StandardCharsets.UTF_8), value));
            }
            producer.flush();
        }
        return bad;
    }

    private static void produceGoodInputs(String topic, int n) {
        try (KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, Map.of("schema.registry.url", REGISTRY));
             KafkaProducer<byte[], byte[]> producer = producer()) {
            for (int i = 0; i < n; i++) {
                String id = String.format("in-%05d", i);
                producer.send(new ProducerRecord<>(topic, id.getBytes(StandardCharsets.UTF_8),
                        serde.serializer().serialize(topic, input(id, TensorCodec.fromUint8(image(i), 28, 28)))));
            }
            producer.flush();
        }
    }

    private static KafkaProducer<byte[], byte[]> producer() {
        return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.LINGER_MS_CONFIG, 5), new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static InputRecord input(String id, Tensor t) {
        return InputRecord.newBuilder().setId(id).setSource("it").setInput(t).setLabel(3)
                .setTimestampMs(Instant.EPOCH).setAttributes(Map.of()).build();
    }

    private static byte[] image(int seed) {
        byte[] px = new byte[784];
        for (int j = 0; j < px.length; j++) {
            px[j] = (byte) ((seed * 7919 + j * 37) % 251);
        }
        return px;
    }

    /** Every committed record of a topic, read from the beginning to its end offsets. */
    private static List<ConsumerRecord<byte[], byte[]>> readAll(String topic) {
        return readAll(topic, "read_committed");
    }

    /** Every record of a topic that {@code isolation} sees, read from the beginning to its end offsets. */
    private static List<ConsumerRecord<byte[], byte[]>> readAll(String topic, String isolation) {
        Map<String, Object> props = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (parts.stream().anyMatch(p -> consumer.position(p) < end.get(p)) && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    private static void await(BooleanSupplier condition, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within " + timeout);
            }
            Thread.sleep(50);
        }
    }
}
