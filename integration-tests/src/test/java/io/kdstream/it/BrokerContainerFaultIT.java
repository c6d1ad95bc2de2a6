package io.kdstream.it;

import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.ops.admin.TopicSpec;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.AppInfoParser;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Broker faults a process cannot stage: the broker in a container is killed (SIGKILL, then started again on its data)
 * or paused (frozen: reachable but silent, as in a network partition) while an idempotent producer and a
 * read_committed consumer built by kdstream's client factories run; both recover and the counts are exact: every
 * record acknowledged, stored once and consumed once.
 *
 * <p>Needs a Docker engine; skipped, with the reason, where none is reachable. The image is
 * {@code -Dkd.it.kafka.image=...} or the environment's {@code KD_IT_KAFKA_IMAGE} if given (CI's {@code .ci/run}
 * builds the image and sets it), else {@code kdstream/kafka:<kafka version>} if the engine has it (built
 * offline by {@code ops/deploy/kafka-image/build.sh}), else {@code apache/kafka:<kafka version>}, pulled. On an engine
 * without registry access, also set {@code TESTCONTAINERS_RYUK_DISABLED=true} (the reaper is an image too) and, where
 * Testcontainers believes it runs inside a container, {@code TESTCONTAINERS_HOST_OVERRIDE=localhost} (else it runs an
 * alpine container to find the engine's address).
 */
class BrokerContainerFaultIT {

    private static final int RECORDS = 4_000;
    private static final String CLUSTER_ID = "5L6g3nShT-eMCtK--X86sw";
    private static final String KAFKA_VERSION = AppInfoParser.getVersion();

    private static final String NO_DOCKER = "skipped: no Docker engine reachable (DOCKER_HOST, /var/run/docker.sock or "
            + "a Testcontainers configuration); BrokerContainerFaultIT needs one to kill and pause a broker container. "
            + "The process-level fault tests (BrokerRestartIT, TrainerCrashIT, TeacherProcessKillIT) run without it.";
    private static String skipReason;

    @BeforeAll
    static void lookForDocker() {
        try {
            if (!DockerClientFactory.instance().isDockerAvailable()) {
                skipReason = NO_DOCKER;
            }
        } catch (RuntimeException e) {
            // an engine was found but Testcontainers cannot use it, e.g. it needs an image it cannot pull to find
            // the engine's address from inside a container: TESTCONTAINERS_HOST_OVERRIDE=localhost avoids that
            skipReason = "skipped: a Docker engine was found but Testcontainers cannot use it (" + e
                    + "); offline, set TESTCONTAINERS_HOST_OVERRIDE=localhost and TESTCONTAINERS_RYUK_DISABLED=true";
        }
        if (skipReason != null) {
            System.out.println("BrokerContainerFaultIT " + skipReason);
        }
    }

    @BeforeEach
    void requireDocker() {
        assumeTrue(skipReason == null, skipReason);
    }

    @Test
    void shouldRecoverExactlyFromABrokerContainerKilledMidStream() throws Exception {
        try (GenericContainer<?> broker = broker(freePort())) {
            broker.start();
            DockerClient docker = broker.getDockerClient();
            String id = broker.getContainerId();
            Fault kill = new Fault("kill", () -> docker.killContainerCmd(id).withSignal("SIGKILL").exec(),
                    () -> docker.startContainerCmd(id).exec(), Duration.ofSeconds(3));
            drill(broker, "container-kill", kill);
        }
    }

    @Test
    void shouldRecoverExactlyFromABrokerContainerPausedLikeANetworkPartition() throws Exception {
        try (GenericContainer<?> broker = broker(freePort())) {
            broker.start();
            DockerClient docker = broker.getDockerClient();
            String id = broker.getContainerId();
            // longer than the clients' request timeout, so requests time out and are retried on other connections
            Fault pause = new Fault("pause", () -> docker.pauseContainerCmd(id).exec(),
                    () -> docker.unpauseContainerCmd(id).exec(), Duration.ofSeconds(15));
            drill(broker, "container-pause", pause);
        }
    }

    /** A fault and its repair, with the time between them. */
    private record Fault(String name, Runnable inject, Runnable repair, Duration outage) {
    }

    private static void drill(GenericContainer<?> broker, String topic, Fault fault) throws Exception {
        // Given a topic and traffic through the broker container: an idempotent producer and a read_committed consumer
        String bootstrap = DockerClientFactory.instance().dockerHostIpAddress() + ":" + broker.getExposedPorts().get(0);
        KdConfig config = KdConfig.fromProperties(Map.of(KdConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap));
        awaitBroker(config, Duration.ofMinutes(2));
        // through TopicAdmin, which returns once every partition's leader serves it: an idempotent producer that
        // writes to a partition its leader has not applied yet can lose a batch (KAFKA-15591, docs/reliability.md)
        try (TopicAdmin topics = new TopicAdmin(KafkaClients.admin(config), Duration.ofSeconds(60), true)) {
            topics.ensureTopics(List.of(new TopicSpec(topic, 3, (short) 1, Map.of())));
        }
        Map<String, Integer> consumed = new ConcurrentHashMap<>();
        AtomicInteger acked = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        AtomicReference<Exception> firstFailure = new AtomicReference<>();
        AtomicBoolean stop = new AtomicBoolean();
        Map<TopicPartition, Long> positions = new ConcurrentHashMap<>();
        AtomicReference<Throwable> consumerFailure = new AtomicReference<>();
        CompletableFuture<Void> consumer = CompletableFuture.runAsync(() -> consume(config, topic, consumed, positions, stop))
                .whenComplete((v, e) -> consumerFailure.compareAndSet(null, e));
        CompletableFuture<Void> producer = CompletableFuture.runAsync(() -> produce(config, topic, acked, failed, firstFailure));
        try {
            // When the fault hits a quarter of the way through, lasts a few seconds and is repaired
            await(() -> acked.get() >= RECORDS / 4, Duration.ofMinutes(2), "a quarter of the records acknowledged");
            int ackedAtFault = acked.get();
            int consumedAtFault = consumed.size();
            fault.inject().run();
            long faultAt = System.nanoTime();
            Thread.sleep(fault.outage().toMillis());
            fault.repair().run();
            int ackedAtRepair = acked.get();
            await(() -> acked.get() + failed.get() > ackedAtRepair, Duration.ofMinutes(3), "an acknowledgement after the repair");
            double recoverySeconds = (System.nanoTime() - faultAt) / 1e9;

            // Then every record is acknowledged and consumed exactly once, and the log holds each once
            producer.get(4, TimeUnit.MINUTES);
            assertThat(failed.get()).as("failed sends (first: %s)", firstFailure.get()).isZero();
            await(() -> consumed.size() >= RECORDS || consumer.isDone(), Duration.ofMinutes(3),
                    () -> "every record consumed (" + consumed.size() + " of " + acked.get() + " acknowledged; missing "
                            + missing(consumed) + "; consumer positions " + positions + ")");
            assertThat(consumerFailure.get()).as("the consumer's failure").isNull();
            Thread.sleep(2_000); // a late duplicate would arrive now
            stop.set(true);
            consumer.get(1, TimeUnit.MINUTES);
            assertThat(acked.get()).isEqualTo(RECORDS);
            assertThat(consumed).hasSize(RECORDS);
            assertThat(consumed.values()).allMatch(n -> n == 1);
            long stored = countAll(config, topic);
            assertThat(stored).isEqualTo(RECORDS);
            System.out.printf("BrokerContainerFaultIT %s (%s, %d s): acked %d and consumed %d before the fault, first "
                            + "acknowledgement %.1f s after it; records %d acknowledged, %d stored, %d consumed, each once "
                            + "(duplicates 0, failed sends %d)%n", fault.name(), broker.getDockerImageName(),
                    fault.outage().toSeconds(), ackedAtFault, consumedAtFault, recoverySeconds, acked.get(), stored,
                    consumed.size(), failed.get());
        } finally {
            stop.set(true);
        }
    }

    /** A single KRaft node configured through KAFKA_* variables, which both images read, on a fixed host port. */
    private static GenericContainer<?> broker(int port) {
        String host = DockerClientFactory.instance().dockerHostIpAddress();
        Map<String, String> env = new HashMap<>();
        env.put("CLUSTER_ID", CLUSTER_ID);
        env.put("KAFKA_NODE_ID", "1");
        env.put("KAFKA_PROCESS_ROLES", "broker,controller");
        env.put("KAFKA_LISTENERS", "PLAINTEXT://:" + port + ",CONTROLLER://:9093");
        env.put("KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://" + host + ":" + port);
        env.put("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER");
        env.put("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT");
        env.put("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093");
        env.put("KAFKA_INTER_BROKER_LISTENER_NAME", "PLAINTEXT");
        env.put("KAFKA_LOG_DIRS", "/tmp/kraft-combined-logs");
        env.put("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1");
        env.put("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1");
        env.put("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1");
        env.put("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0");
        env.put("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false");
        // the same port inside and outside, so the advertised address survives a restart of the container
        return new GenericContainer<>(image())
                .withEnv(env)
                .withExposedPorts(port)
                .withCreateContainerCmdModifier(cmd -> cmd.getHostConfig()
                        .withPortBindings(new PortBinding(Ports.Binding.bindPort(port), ExposedPort.tcp(port))))
                .waitingFor(Wait.forLogMessage(".*Kafka Server started.*", 1))
                .withStartupTimeout(Duration.ofMinutes(3));
    }

    private static DockerImageName image() {
        String configured = System.getProperty("kd.it.kafka.image", System.getenv().getOrDefault("KD_IT_KAFKA_IMAGE", ""));
        if (!configured.isBlank()) {
            return DockerImageName.parse(configured);
        }
        String local = "kdstream/kafka:" + KAFKA_VERSION;
        try {
            DockerClientFactory.instance().client().inspectImageCmd(local).exec();
            return DockerImageName.parse(local);
        } catch (NotFoundException e) {
            return DockerImageName.parse("apache/kafka:" + KAFKA_VERSION);
        }
    }

    private static void produce(KdConfig config, String topic, AtomicInteger acked, AtomicInteger failed,
                                AtomicReference<Exception> firstFailure) {
        Map<String, Object> overrides = Map.of(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 240_000,
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000, ProducerConfig.MAX_BLOCK_MS_CONFIG, 240_000);
        try (Producer<byte[], byte[]> producer = KafkaClients.producer(config, "fault-producer", overrides)) {
            for (int i = 0; i < RECORDS; i++) {
                byte[] key = String.format("k-%05d", i).getBytes(StandardCharsets.UTF_8);
                producer.send(new ProducerRecord<>(topic, key, key), (md, e) -> {
                    if (e == null) {
                        acked.incrementAndGet();
                    } else {
                        failed.incrementAndGet();
                        firstFailure.compareAndSet(null, e);
                    }
                });
                if (i % 10 == 9) {
                    Thread.sleep(20);
                }
            }
            producer.flush();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void consume(KdConfig config, String topic, Map<String, Integer> consumed,
                                Map<TopicPartition, Long> positions, AtomicBoolean stop) {
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
            List<TopicPartition> tps = new ArrayList<>();
            consumer.partitionsFor(topic, Duration.ofMinutes(1)).forEach(p -> tps.add(new TopicPartition(topic, p.partition())));
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            while (!stop.get()) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    consumed.merge(new String(r.key(), StandardCharsets.UTF_8), 1, Integer::sum);
                    positions.put(new TopicPartition(r.topic(), r.partition()), r.offset() + 1);
                }
            }
        }
    }

    /** Records in {@code topic}, read from the beginning to the end offsets. */
    private static long countAll(KdConfig config, String topic) {
        long n = 0;
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
            List<TopicPartition> tps = new ArrayList<>();
            consumer.partitionsFor(topic).forEach(p -> tps.add(new TopicPartition(topic, p.partition())));
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps);
            long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
            while (tps.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                assertThat(System.nanoTime()).as("read " + topic + " within a minute").isLessThan(deadline);
                n += consumer.poll(Duration.ofMillis(200)).count();
            }
        }
        return n;
    }

    private static void awaitBroker(KdConfig config, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try (Admin admin = KafkaClients.admin(config)) {
                admin.describeCluster().nodes().get(10, TimeUnit.SECONDS);
                return;
            } catch (Exception e) {
                if (e instanceof InterruptedException) {
                    throw (InterruptedException) e;
                }
                assertThat(System.nanoTime()).as("broker answers within " + timeout + " (" + e + ")").isLessThan(deadline);
                Thread.sleep(500);
            }
        }
    }

    private static void await(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
        await(condition, timeout, () -> what);
    }

    private static void await(BooleanSupplier condition, Duration timeout, Supplier<String> what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError(what.get() + " within " + timeout);
            }
            Thread.sleep(50);
        }
    }

    /** The first few keys not consumed, and how many are missing in all. */
    private static String missing(Map<String, Integer> consumed) {
        List<String> keys = new ArrayList<>();
        int count = 0;
        for (int i = 0; i < RECORDS; i++) {
            String key = String.format("k-%05d", i);
            if (!consumed.containsKey(key)) {
                count++;
                if (keys.size() < 10) {
                    keys.add(key);
                }
            }
        }
        return count + ": " + keys;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
