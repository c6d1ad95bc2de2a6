package io.kdstream.it;

import io.kdstream.avro.InputRecord;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.ops.cli.KdstreamCli;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.serve.TeacherConfig;
import io.kdstream.teacher.serve.TeacherService;
import io.kdstream.it.support.ChildJvm;
import io.kdstream.it.support.TeacherProps;
import io.kdstream.it.support.TopicProps;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The broker as a separate OS process ({@code kdstream up}) killed with SIGKILL in the middle of a run and started
 * again on the same data directory and port, while an idempotent producer and the teacher-service keep running in
 * this JVM: both recover, and under read_committed every input has exactly one teacher output.
 */
class BrokerRestartIT {

    private static final int INPUTS = 3_000;
    private static final String P = "restart";

    @Test
    void shouldRecoverFromABrokerKilledMidRunWithExactlyOneOutputPerInput(@TempDir Path dir) throws Exception {
        // Given a broker process on a fixed port, the topics, half of the inputs and the teacher-service serving them
        int port = freePort();
        Path data = dir.resolve("data");
        Process broker = startBroker(data, port, dir.resolve("broker-1.log"));
        Process restarted = null;
        try {
            Map<String, Object> props = props(port);
            KdConfig config = new KdConfig(props);
            try (TopicAdmin admin = new TopicAdmin(KafkaClients.admin(config), Duration.ofSeconds(60), true)) {
                admin.ensureTopics(TopicAdmin.catalog(config));
            }
            Map<String, Object> producerOverrides = Map.of("delivery.timeout.ms", 240_000, "request.timeout.ms", 10_000,
                    "max.block.ms", 240_000, "linger.ms", 5);
            Serializer<InputRecord> serializer = KdAvroSerdes.value(InputRecord.class, config.serdeProperties()).serializer();
            try (Teacher teacher = FuzzedInputIT.randomTeacher(dir.resolve("teacher"));
                 Producer<byte[], byte[]> producer = KafkaClients.producer(config, "restart-ingest", producerOverrides);
                 TeacherService service = TeacherService.builder().setConfig(new TeacherConfig(teacherProps(props)))
                         .setTeacher(teacher).build()) {
                send(producer, serializer, config.topics().inputs(), 0, INPUTS / 2);
                producer.flush();
                service.start();
                await(() -> service.metrics().snapshot().outputs() >= INPUTS / 6, Duration.ofMinutes(2), "first outputs", service);
                long beforeKill = service.metrics().snapshot().outputs();

                // When the broker is killed mid-run, the producer goes on sending, and the broker comes back
                broker.destroyForcibly();
                assertThat(broker.waitFor(30, TimeUnit.SECONDS)).isTrue();
                long killedAt = System.nanoTime();
                CompletableFuture<Void> rest = CompletableFuture.runAsync(() -> {
                    send(producer, serializer, config.topics().inputs(), INPUTS / 2, INPUTS);
                    producer.flush();
                });
                restarted = startBroker(data, port, dir.resolve("broker-2.log"));
                double downSeconds = (System.nanoTime() - killedAt) / 1e9;
                rest.get(4, TimeUnit.MINUTES);
                await(() -> service.metrics().snapshot().inputs() >= INPUTS, Duration.ofMinutes(4), "every input committed", service);
                assertThat(service.isRunning()).as("teacher workers survived the broker restart").isTrue();
                long aborts = service.metrics().snapshot().aborts();

                // Then read_committed readers see exactly one output per input, and no dead letter
                List<ConsumerRecord<byte[], byte[]>> outputs = readAll(config, config.topics().teacherOutputs());
                Map<String, Integer> perKey = new HashMap<>();
                outputs.forEach(r -> perKey.merge(new String(r.key(), StandardCharsets.UTF_8), 1, Integer::sum));
                assertThat(perKey).hasSize(INPUTS);
                assertThat(perKey.values()).allMatch(n -> n == 1);
                assertThat(outputs).hasSize(INPUTS);
                List<ConsumerRecord<byte[], byte[]>> dead = readAll(config, config.topics().dlq());
                assertThat(dead).isEmpty();
                List<ConsumerRecord<byte[], byte[]>> inputs = readAll(config, config.topics().inputs());
                assertThat(inputs).hasSize(INPUTS);
                System.out.printf("BrokerRestartIT: broker killed after %d committed outputs, back after %.1f s; inputs %d "
                        + "(idempotent producer, none lost or duplicated), outputs %d distinct %d, dead letters %d, "
                        + "aborted transactions %d%n", beforeKill, downSeconds, inputs.size(), outputs.size(), perKey.size(),
                        dead.size(), aborts);
            }
        } finally {
            stop(broker);
            stop(restarted);
        }
    }

    private static void send(Producer<byte[], byte[]> producer, Serializer<InputRecord> serializer, String topic, int from, int to) {
        Random rng = new Random(from);
        for (int i = from; i < to; i++) {
            String id = String.format("in-%05d", i);
            byte[] px = new byte[784];
            rng.nextBytes(px);
            InputRecord r = InputRecord.newBuilder().setId(id).setSource("restart").setInput(TensorCodec.fromUint8(px, 1, 28, 28))
                    .setLabel(i % 10).setTimestampMs(Instant.EPOCH).setAttributes(Map.of()).build();
            producer.send(new ProducerRecord<>(topic, id.getBytes(StandardCharsets.UTF_8), serializer.serialize(topic, r)));
        }
    }

    private static Map<String, Object> props(int port) {
        Map<String, Object> p = new HashMap<>();
        p.put("bootstrap.servers", "127.0.0.1:" + port);
        p.put("schema.registry.url", "mock://restart-" + UUID.randomUUID());
        TopicProps.prefixed(p, P);
        p.put(KdConfig.TOPICS_PARTITIONS_CONFIG, "2");
        return p;
    }

    private static Map<String, Object> teacherProps(Map<String, Object> base) {
        Map<String, Object> p = TeacherProps.smallTransactions(base, P);
        p.put(TeacherConfig.RETRY_BACKOFF_MS_CONFIG, 500);
        p.put(TeacherConfig.TRANSACTION_TIMEOUT_MS_CONFIG, 30_000);
        p.put("session.timeout.ms", 30_000);
        p.put("heartbeat.interval.ms", 3_000);
        p.put("request.timeout.ms", 10_000);
        p.put("max.block.ms", 60_000);
        p.put("delivery.timeout.ms", 120_000);
        return p;
    }

    /** Starts {@code kdstream up} as a separate JVM and waits until it reports the stack is up. */
    private static Process startBroker(Path data, int port, Path log) throws IOException, InterruptedException {
        Process process = ChildJvm.start(List.of("-Dai.djl.offline=true", "-Xmx768m"), KdstreamCli.class, List.of("up",
                "--data-dir", data.toString(), "--port", Integer.toString(port), "--registry-port", "0"), log);
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (!Files.exists(log) || !Files.readString(log).contains("kdstream local stack is up")) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new AssertionError("the broker process did not come up: " + (Files.exists(log) ? Files.readString(log) : ""));
            }
            Thread.sleep(100);
        }
        return process;
    }

    private static void stop(Process p) throws InterruptedException {
        if (p != null && p.isAlive()) {
            p.destroy();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void await(BooleanSupplier condition, Duration timeout, String what, TeacherService service)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(service.isRunning()).as("teacher workers alive while waiting for " + what).isTrue();
            assertThat(System.nanoTime()).as(what + " within " + timeout).isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    /** Every committed record of a topic, read from the beginning to its end offsets. */
    private static List<ConsumerRecord<byte[], byte[]>> readAll(KdConfig config, String topic) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
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
}
