package io.kdstream.it;

import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.InputRecord;
import io.kdstream.avro.SourceCoordinates;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.it.support.ChildJvm;
import io.kdstream.it.support.ConfirmedSends;
import io.kdstream.it.support.KafkaTestCluster;
import io.kdstream.it.support.SlowSendInterceptor;
import io.kdstream.it.support.TestRegistry;
import io.kdstream.it.support.TeacherProps;
import io.kdstream.it.support.TopicProps;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.ops.cli.KdstreamCli;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.serve.TeacherConfig;
import io.kdstream.teacher.serve.TeacherViews;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListTransactionsOptions;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
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
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The teacher-service as a separate OS process ({@code kdstream teacher serve}), killed with SIGKILL three times while
 * its transactions are open and started again each time: under read_committed every input, good or bad, has exactly
 * its results, one teacher output per view (one view, or two with {@code teacher.views.per.input=2}) or one dead
 * letter. A test-only interceptor slows every send so that each transaction stays open for about a second and the
 * kills land inside one.
 */
class TeacherProcessKillIT {

    private static final String P = "tkill";
    private static final int INPUTS = 1_200;
    private static final int KILLS = 3;
    private static final long SEND_DELAY_MS = 15;

    private static KafkaTestCluster kafka;
    private static TestRegistry registry;

    @BeforeAll
    static void start() {
        // a short minimum session timeout, so the group drops a killed process's consumers within seconds
        kafka = KafkaTestCluster.start(Map.of("group.min.session.timeout.ms", "1000"));
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

    @ParameterizedTest(name = "{0} view(s) per input")
    @ValueSource(ints = {1, 2})
    void shouldGiveEveryInputExactlyOneResultPerViewAcrossThreeKillsMidTransaction(int views, @TempDir Path dir)
            throws Exception {
        // Given inputs, every tenth malformed and every tenth of the wrong shape, and a saved teacher model
        String prefix = P + "-v" + views;
        Map<String, Object> props = props(prefix);
        KdConfig config = new KdConfig(props);
        try (TopicAdmin admin = new TopicAdmin(KafkaClients.admin(config), Duration.ofSeconds(30), true)) {
            admin.ensureTopics(TopicAdmin.catalog(config));
        }
        Map<String, FailureKind> badById = produceInputs(config, prefix);
        long expectedResults = (long) (INPUTS - badById.size()) * views + badById.size();
        try (Teacher teacher = FuzzedInputIT.randomTeacher(dir.resolve("model"))) {
            assertThat(teacher.info().sha256()).isNotBlank();
        }
        Path file = dir.resolve("teacher.properties");
        Map<String, Object> teacherProps = teacherProps(props, prefix);
        teacherProps.put(TeacherConfig.VIEWS_PER_INPUT_CONFIG, views);
        writeProperties(teacherProps, file);

        // When a teacher-service process is killed three times with transactions open, and started again each time
        Random rng = new Random();
        List<Long> killedAfter = new ArrayList<>();
        List<Integer> openAtKill = new ArrayList<>();
        List<Long> heldBackAtKill = new ArrayList<>();
        long started = System.nanoTime();
        int attempts = 0;
        try (Progress progress = new Progress(config)) {
            for (int k = 0; k < KILLS; ) {
                attempts++;
                Process process = launch(file, dir, dir.resolve("teacher-" + attempts + ".log"));
                try {
                    // kill once it has committed 10-25%, 35-50%, 60-75% of the inputs and has a transaction open again,
                    // a random part of the way into it
                    long threshold = (long) (expectedResults * (0.10 + 0.25 * k + 0.15 * rng.nextDouble()));
                    progress.awaitAtLeast(threshold, process, Duration.ofSeconds(90));
                    awaitOpenTransaction(prefix, process, Duration.ofSeconds(30));
                    Thread.sleep(rng.nextInt(200));
                } finally {
                    process.destroyForcibly();
                }
                assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
                int open = openTransactions(prefix);
                long heldBack = heldBack(config);
                if (open == 0 || heldBack == 0) {
                    // the transaction committed between the look and the kill, or had not written yet: that kill proves
                    // nothing, so the next process is killed again
                    assertThat(attempts).as("kills that landed outside a transaction with records").isLessThan(KILLS + 4);
                    continue;
                }
                killedAfter.add(progress.results());
                openAtKill.add(open);
                heldBackAtKill.add(heldBack);
                k++;
            }
            Process last = launch(file, dir, dir.resolve("teacher-" + (attempts + 1) + ".log"));
            try {
                progress.awaitAtLeast(expectedResults, last, Duration.ofSeconds(90));
            } finally {
                stopGracefully(last);
            }
        }
        double seconds = (System.nanoTime() - started) / 1e9;

        // Then every kill left a transaction open (its records held back from read_committed readers) ...
        assertThat(openAtKill).as("kills with a teacher transaction open and records past the last stable offset")
                .hasSize(KILLS);

        // ... and under read_committed each input has exactly one result: an output if it was good, a dead letter if not
        Map<String, Coordinates> inputs = inputCoordinates(config);
        assertThat(inputs).hasSize(INPUTS);
        Map<Coordinates, Integer> results = new HashMap<>();
        Map<Coordinates, List<Integer>> viewsOf = new HashMap<>();
        Map<Coordinates, FailureKind> deadKinds = new HashMap<>();
        Deserializer<TeacherOutput> outputs = KdAvroSerdes.value(TeacherOutput.class, config.serdeProperties()).deserializer();
        Deserializer<FailureEvent> failures = KdAvroSerdes.value(FailureEvent.class, config.serdeProperties()).deserializer();
        List<ConsumerRecord<byte[], byte[]>> outputRecords = readAll(config, config.topics().teacherOutputs(), "read_committed");
        for (ConsumerRecord<byte[], byte[]> r : outputRecords) {
            TeacherOutput out = outputs.deserialize(r.topic(), r.value());
            SourceCoordinates s = out.getSource();
            Coordinates c = new Coordinates(s.getPartition(), s.getOffset());
            results.merge(c, 1, Integer::sum);
            viewsOf.computeIfAbsent(c, x -> new ArrayList<>()).add(TeacherViews.View.fromAttributes(out.getAttributes()).index());
        }
        List<ConsumerRecord<byte[], byte[]>> deadRecords = readAll(config, config.topics().dlq(), "read_committed");
        for (ConsumerRecord<byte[], byte[]> r : deadRecords) {
            FailureEvent e = failures.deserialize(r.topic(), r.value());
            Coordinates c = new Coordinates(e.getSource().getPartition(), e.getSource().getOffset());
            results.merge(c, 1, Integer::sum);
            deadKinds.put(c, e.getKind());
        }
        assertThat(results.keySet()).isEqualTo(Set.copyOf(inputs.values()));
        Set<Coordinates> bad = new java.util.HashSet<>();
        badById.keySet().forEach(id -> bad.add(inputs.get(id)));
        results.forEach((c, n) -> assertThat(n).as("results of input " + c).isEqualTo(bad.contains(c) ? 1 : views));
        List<Integer> allViews = java.util.stream.IntStream.range(0, views).boxed().toList();
        viewsOf.forEach((c, v) -> assertThat(v).as("views published for input " + c).containsExactlyInAnyOrderElementsOf(allViews));
        assertThat(outputRecords).hasSize((INPUTS - badById.size()) * views);
        assertThat(deadRecords).hasSize(badById.size());
        Map<Coordinates, FailureKind> expectedKinds = new HashMap<>();
        badById.forEach((id, kind) -> expectedKinds.put(inputs.get(id), kind));
        assertThat(deadKinds).isEqualTo(expectedKinds);

        // ... each output's feature maps are on the companion topic once: one committed feature record per output
        List<ConsumerRecord<byte[], byte[]>> featureRecords = readAll(config, config.topics().teacherFeatures(), "read_committed");
        assertThat(featureRecords).hasSameSizeAs(outputRecords);

        // ... while read_uncommitted readers also see the records of the transactions the kills left open
        long uncommitted = readAll(config, config.topics().teacherOutputs(), "read_uncommitted").size()
                + readAll(config, config.topics().teacherFeatures(), "read_uncommitted").size()
                + readAll(config, config.topics().dlq(), "read_uncommitted").size();
        long aborted = uncommitted - outputRecords.size() - featureRecords.size() - deadRecords.size();
        assertThat(aborted).isPositive();
        Map<FailureKind, Long> byKind = new TreeMap<>();
        deadKinds.values().forEach(kind -> byKind.merge(kind, 1L, Long::sum));
        System.out.printf("TeacherProcessKillIT (" + views + " view(s) per input): %d kills in %d attempts (SIGKILL, %d ms per send) after %s committed results; open "
                        + "transactions at each kill %s, records held back past the last stable offset %s; inputs %d = "
                        + "outputs %d + dead letters %d %s; every input exactly once (duplicates 0, missing 0); records of "
                        + "aborted transactions visible only to read_uncommitted: %d; %.1f s for all the processes%n",
                KILLS, attempts, SEND_DELAY_MS, killedAfter, openAtKill, heldBackAtKill, inputs.size(), outputRecords.size(),
                deadRecords.size(), byKind, aborted, seconds);
    }

    private record Coordinates(int partition, long offset) {
    }

    private static Map<String, Object> props(String prefix) {
        Map<String, Object> p = new HashMap<>();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("schema.registry.url", registry.url());
        TopicProps.prefixed(p, prefix);
        p.put(KdConfig.TOPICS_PARTITIONS_CONFIG, "2");
        return p;
    }

    private static Map<String, Object> teacherProps(Map<String, Object> base, String prefix) {
        Map<String, Object> p = TeacherProps.smallTransactions(base, prefix);
        p.put(TeacherConfig.RETRY_BACKOFF_MS_CONFIG, 200);
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 3_000);
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500);
        // passed through to the teacher's producers (and consumers) like any Kafka client setting
        p.put(ProducerConfig.INTERCEPTOR_CLASSES_CONFIG, SlowSendInterceptor.class.getName());
        return p;
    }

    /** Produces the inputs; returns the ids of the bad ones with the dead-letter kind the teacher must give them. */
    private static Map<String, FailureKind> produceInputs(KdConfig config, String prefix) throws InterruptedException {
        Serializer<InputRecord> serializer = KdAvroSerdes.value(InputRecord.class, config.serdeProperties()).serializer();
        String topic = config.topics().inputs();
        Random rng = new Random(20261130);
        Map<String, FailureKind> bad = new HashMap<>();
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (int i = 0; i < INPUTS; i++) {
            String id = String.format("in-%05d", i);
            byte[] key = id.getBytes(StandardCharsets.UTF_8);
            byte[] value;
            if (i % 10 == 3) {
                value = ("not an input record " + i).getBytes(StandardCharsets.UTF_8);
                bad.put(id, FailureKind.DESERIALIZATION);
            } else {
                boolean wrongShape = i % 10 == 7;
                int side = wrongShape ? 27 : 28;
                byte[] px = new byte[side * side];
                rng.nextBytes(px);
                InputRecord r = InputRecord.newBuilder().setId(id).setSource(P).setInput(TensorCodec.fromUint8(px, 1, side, side))
                        .setLabel(i % 10).setTimestampMs(Instant.EPOCH).setAttributes(Map.of()).build();
                value = serializer.serialize(topic, r);
                if (wrongShape) {
                    bad.put(id, FailureKind.SHAPE);
                }
            }
            records.add(new ProducerRecord<>(topic, key, value));
        }
        ConfirmedSends.sendAll(config, prefix + "-ingest", records);
        return bad;
    }

    /** Starts {@code kdstream teacher serve} as a separate JVM with slowed sends. */
    private static Process launch(Path properties, Path dir, Path log) throws IOException {
        List<String> options = new ArrayList<>(ChildJvm.ENGINE);
        options.add("-D" + SlowSendInterceptor.DELAY_PROPERTY + "=" + SEND_DELAY_MS);
        options.add("-Xmx768m");
        return ChildJvm.start(options, KdstreamCli.class, List.of("teacher", "serve", "--config", properties.toString(),
                "--model", dir.resolve("model").toString(), "--store", dir.resolve("store").toString()), log);
    }

    private static void stopGracefully(Process p) throws InterruptedException {
        p.destroy();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** Teacher transactions in the ONGOING state. */
    /** Waits until the teacher has a transaction open (its records past the last stable offset). */
    private static void awaitOpenTransaction(String prefix, Process process, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (openTransactions(prefix) == 0) {
            assertThat(process.isAlive()).as("teacher process alive").isTrue();
            assertThat(System.nanoTime()).as("a teacher transaction opened within " + timeout).isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    private static int openTransactions(String prefix) throws Exception {
        try (Admin admin = kafka.admin()) {
            List<TransactionListing> open = new ArrayList<>(admin.listTransactions(new ListTransactionsOptions()
                    .filterStates(List.of(TransactionState.ONGOING))).all().get(30, TimeUnit.SECONDS));
            open.removeIf(t -> !t.transactionalId().startsWith(prefix + "-teacher"));
            return open.size();
        }
    }

    /** Offsets between the last stable offset and the end of the output, feature and dead-letter partitions. */
    private static long heldBack(KdConfig config) {
        long n = 0;
        // (feature records are written first in a transaction: one may hold nothing else yet)
        for (String topic : List.of(config.topics().teacherOutputs(), config.topics().teacherFeatures(), config.topics().dlq())) {
            List<TopicPartition> tps = List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1));
            try (Consumer<byte[], byte[]> committed = KafkaClients.consumer(config, null, Map.of());
                 Consumer<byte[], byte[]> uncommitted = KafkaClients.consumer(config, null,
                         Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted"))) {
                Map<TopicPartition, Long> stable = committed.endOffsets(tps);
                Map<TopicPartition, Long> end = uncommitted.endOffsets(tps);
                for (TopicPartition tp : tps) {
                    n += end.get(tp) - stable.get(tp);
                }
            }
        }
        return n;
    }

    /** Input id to where it lies on the inputs topic. */
    private static Map<String, Coordinates> inputCoordinates(KdConfig config) {
        Map<String, Coordinates> out = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : readAll(config, config.topics().inputs(), "read_committed")) {
            out.put(new String(r.key(), StandardCharsets.UTF_8), new Coordinates(r.partition(), r.offset()));
        }
        return out;
    }

    /** Every record of {@code topic} up to its end offsets as {@code isolation} sees them. */
    private static List<ConsumerRecord<byte[], byte[]>> readAll(KdConfig config, String topic, String isolation) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null,
                Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation))) {
            List<TopicPartition> parts = consumer.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (parts.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                assertThat(System.nanoTime()).as("read " + topic + " within 60 s").isLessThan(deadline);
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    private static void writeProperties(Map<String, Object> props, Path file) throws IOException {
        Properties p = new Properties();
        props.forEach((k, v) -> p.setProperty(k, String.valueOf(v)));
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            p.store(w, "teacher kill test");
        }
    }

    /** Counts the committed results (outputs and dead letters) as a read_committed reader sees them. */
    private static final class Progress implements AutoCloseable {
        private final Consumer<byte[], byte[]> consumer;
        private long results;

        Progress(KdConfig config) {
            consumer = KafkaClients.consumer(config, null, Map.of());
            List<TopicPartition> tps = new ArrayList<>();
            for (String topic : List.of(config.topics().teacherOutputs(), config.topics().dlq())) {
                consumer.partitionsFor(topic).forEach(p -> tps.add(new TopicPartition(topic, p.partition())));
            }
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
        }

        long results() {
            results += consumer.poll(Duration.ofMillis(100)).count();
            return results;
        }

        void awaitAtLeast(long n, Process process, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (results() < n) {
                assertThat(process.isAlive()).as("teacher process alive while waiting for " + n + " results").isTrue();
                assertThat(System.nanoTime()).as(n + " committed results within " + timeout).isLessThan(deadline);
            }
        }

        @Override
        public void close() {
            consumer.close();
        }
    }
}
