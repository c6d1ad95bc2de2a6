package io.kdstream.it;

import io.kdstream.avro.InputRecord;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.it.support.ReplicatedKafkaCluster;
import io.kdstream.it.support.TeacherProps;
import io.kdstream.it.support.TopicProps;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.serve.TeacherConfig;
import io.kdstream.teacher.serve.TeacherService;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
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

import java.nio.ByteBuffer;
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
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole pipeline (an idempotent ingest producer, the teacher-service and an online trainer, all in this JVM) on a
 * cluster of three brokers, topics replicated three times with {@code min.insync.replicas=2}, while brokers go away:
 * the leader of the teacher-outputs partition is shut down abruptly mid-run (broker 0, configured without controlled
 * shutdown, is made its leader first), and every broker is restarted in turn (a rolling restart: brokers 1 and 2 with a
 * controlled shutdown, broker 0 abruptly) mid-run. Each faulted run must end exactly like the same run on an undisturbed cluster: every input once,
 * every teacher output once under read_committed and equal to the undisturbed run's, and the trainer's model
 * bit-identical (same sha256).
 *
 * <p>One partition per topic: the trainer cuts its batches in arrival order, so a deterministic model needs the
 * teacher outputs in one deterministic order. The teacher scores one input at a time (batch size 1), so its logits do
 * not depend on how the inputs happened to be batched around the faults.
 */
class ReplicatedClusterFaultIT {

    private static final int BROKERS = 3;
    private static final int BATCH = 16;
    private static final int STEPS = 60;
    private static final int INPUTS = BATCH * STEPS;
    /** The broker configured without controlled shutdown: its shutdown is abrupt, like a crash of the process. */
    private static final int ABRUPT_BROKER = 0;

    private static ReplicatedKafkaCluster kafka;
    private static Outcome reference;

    @TempDir
    static Path shared;

    @BeforeAll
    static void start() {
        kafka = ReplicatedKafkaCluster.start(BROKERS, Map.of(ABRUPT_BROKER, Map.of("controlled.shutdown.enable", "false")));
    }

    @AfterAll
    static void stop() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void shouldLoseNoInputDuplicateNoOutputAndTrainTheSameModelWhenTheTeacherOutputsLeaderGoesDownAbruptly(@TempDir Path dir)
            throws Exception {
        // Given the undisturbed run's outcome, and the same pipeline running on fresh topics, a third of it done
        Outcome expected = reference();
        Outcome outcome;
        String injected;
        try (Pipeline run = new Pipeline("leader", dir)) {
            kafka.moveLeadership(new TopicPartition(run.config.topics().teacherOutputs(), 0), ABRUPT_BROKER);
            run.allow(INPUTS / 3);
            run.await(() -> run.outputs() >= INPUTS / 4 && run.trainedSteps() >= 4, "a quarter of the outputs and 4 steps");

            // When the leader of the teacher-outputs partition goes away abruptly (no controlled shutdown: it hands
            // nothing over, and the controller fences it only once its heartbeats stop) while inputs keep coming, and is
            // started again once the pipeline has gone on without it
            TopicPartition tp = new TopicPartition(run.config.topics().teacherOutputs(), 0);
            int leader = ABRUPT_BROKER;
            List<Integer> isrBefore = kafka.isrOf(tp);
            long outputsAtFault = run.outputs();
            long stepsAtFault = run.trainedSteps();
            run.allow(2 * INPUTS / 3);
            long t0 = System.nanoTime();
            kafka.shutdownBroker(leader);
            double shutdownSeconds = seconds(t0);
            double failoverSeconds = awaitFailover(tp, leader);
            int newLeader = kafka.leaderOf(tp);
            List<Integer> isrDown = kafka.isrOf(tp);
            run.await(() -> run.outputs() >= outputsAtFault + 2L * BATCH && run.trainedSteps() >= stepsAtFault + 2,
                    "outputs and steps with broker " + leader + " down");
            long outputsWhileDown = run.outputs() - outputsAtFault;
            long stepsWhileDown = run.trainedSteps() - stepsAtFault;
            run.allow(INPUTS);
            long t1 = System.nanoTime();
            kafka.startBroker(leader);
            Duration catchUp = kafka.awaitFullIsr(run.config.topics().all());
            double downSeconds = seconds(t1) + (t1 - t0) / 1e9;
            List<Integer> isrAfter = kafka.isrOf(tp);
            outcome = run.finish();
            injected = String.format("shut down broker %d abruptly, the leader of %s (ISR %s), after %d committed outputs and %d "
                            + "trained steps (shutdown took %.1f s); new leader %d %.1f s after the shutdown began, ISR %s; %d outputs "
                            + "and %d steps while it was down; restarted after %.1f s, every replica in sync again %.1f s later (ISR %s)",
                    leader, tp, isrBefore, outputsAtFault, stepsAtFault, shutdownSeconds, newLeader, failoverSeconds, isrDown,
                    outputsWhileDown, stepsWhileDown, downSeconds, catchUp.toMillis() / 1e3, isrAfter);

            assertThat(newLeader).as("a new leader was elected").isNotEqualTo(leader).isNotNegative();
            assertThat(isrDown).as("the ISR shrank to the two remaining brokers").hasSize(BROKERS - 1).doesNotContain(leader);
            assertThat(isrAfter).hasSize(BROKERS);
        }

        // Then nothing was lost or duplicated, and the trainer ended with the undisturbed run's model
        report("leader shutdown", injected, outcome, expected);
        outcome.assertSameAs(expected);
    }

    @Test
    void shouldLoseNoInputDuplicateNoOutputAndTrainTheSameModelThroughARollingRestartOfEveryBroker(@TempDir Path dir)
            throws Exception {
        // Given the undisturbed run's outcome, and the same pipeline running on fresh topics, a fifth of it done
        Outcome expected = reference();
        Outcome outcome;
        List<String> steps = new ArrayList<>();
        try (Pipeline run = new Pipeline("rolling", dir)) {
            run.allow(INPUTS / 5);
            run.await(() -> run.outputs() >= INPUTS / 8 && run.trainedSteps() >= 2, "an eighth of the outputs and 2 steps");

            // When each broker in turn is shut down, the pipeline goes on without it, and it is started again and
            // caught up before the next one goes
            TopicPartition tp = new TopicPartition(run.config.topics().teacherOutputs(), 0);
            int allowed = INPUTS / 5;
            for (int broker : kafka.brokerIds()) {
                allowed += INPUTS / 5;
                run.allow(allowed);
                long outputs = run.outputs();
                long trained = run.trainedSteps();
                int leaderBefore = kafka.leaderOf(tp);
                long t0 = System.nanoTime();
                kafka.shutdownBroker(broker);
                awaitFailover(tp, broker);
                List<Integer> isrDown = kafka.isrOf(tp);
                int leaderDown = kafka.leaderOf(tp);
                run.await(() -> run.outputs() >= outputs + BATCH && run.trainedSteps() >= trained + 1,
                        "outputs and steps with broker " + broker + " down");
                kafka.startBroker(broker);
                double down = seconds(t0);
                Duration catchUp = kafka.awaitFullIsr(run.config.topics().all());
                assertThat(isrDown).as("ISR with broker " + broker + " down").hasSize(BROKERS - 1).doesNotContain(broker);
                assertThat(leaderDown).isNotEqualTo(broker).isNotNegative();
                steps.add(String.format("broker %d%s down %.1f s (leader of %s %d -> %d, ISR %s, %d outputs and %d steps meanwhile), "
                                + "in sync again %.1f s after its start", broker, broker == ABRUPT_BROKER ? " (abrupt)" : "", down, tp, leaderBefore, leaderDown, isrDown,
                        run.outputs() - outputs, run.trainedSteps() - trained, catchUp.toMillis() / 1e3));
            }
            run.allow(INPUTS);
            outcome = run.finish();
        }

        // Then nothing was lost or duplicated, and the trainer ended with the undisturbed run's model
        report("rolling restart", "restarted every broker in turn: " + String.join("; ", steps), outcome, expected);
        outcome.assertSameAs(expected);
    }

    /** The undisturbed run on this cluster, made once for both tests. */
    private static synchronized Outcome reference() throws Exception {
        if (reference == null) {
            try (Pipeline run = new Pipeline("reference", shared.resolve("reference"))) {
                run.allow(INPUTS);
                reference = run.finish();
            }
            report("reference", "no fault", reference, reference);
            assertThat(reference.steps).isEqualTo(STEPS);
        }
        return reference;
    }

    private static void report(String name, String injected, Outcome o, Outcome expected) {
        System.out.printf("ReplicatedClusterFaultIT %s (%d brokers, replication 3, min.insync.replicas 2): injected: %s. "
                        + "Counted: inputs %d (distinct %d), failed sends %d; teacher outputs under read_committed %d (distinct "
                        + "%d), under read_uncommitted %d (records of aborted transactions %d), dead letters %d, teacher aborts %d; "
                        + "outputs equal to the undisturbed run's %d of %d; trainer %d steps, %d samples, model sha256 %s (undisturbed %s); "
                        + "run %.1f s%n",
                name, BROKERS, injected, o.inputs, o.distinctInputs, o.failedSends, o.outputs, o.distinctOutputs,
                o.uncommittedOutputs, o.uncommittedOutputs - o.outputs, o.deadLetters, o.aborts,
                o.sameLogitsAs(expected), expected.logits.size(), o.steps, o.samples, o.modelSha256, expected.modelSha256, o.seconds);
    }

    /**
     * Waits until {@code tp} is led by a broker other than {@code gone} and {@code gone} has left its ISR; returns the
     * seconds that took.
     */
    private static double awaitFailover(TopicPartition tp, int gone) throws InterruptedException {
        long start = System.nanoTime();
        long deadline = start + Duration.ofSeconds(60).toNanos();
        while (true) {
            int leader = kafka.leaderOf(tp);
            if (leader >= 0 && leader != gone && !kafka.isrOf(tp).contains(gone)) {
                return seconds(start);
            }
            assertThat(System.nanoTime()).as("a new leader of " + tp + " without broker " + gone).isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    /** What a run produced and counted. */
    private record Outcome(long inputs, long distinctInputs, long failedSends, long outputs, long distinctOutputs,
            long uncommittedOutputs, long deadLetters, long aborts, Map<String, ByteBuffer> logits, long steps, long samples,
            String modelSha256, double seconds) {

        long sameLogitsAs(Outcome other) {
            return logits.entrySet().stream().filter(e -> e.getValue().equals(other.logits.get(e.getKey()))).count();
        }

        void assertSameAs(Outcome expected) {
            assertThat(failedSends).as("failed input sends").isZero();
            assertThat(inputs).as("inputs in the topic").isEqualTo(INPUTS);
            assertThat(distinctInputs).as("distinct inputs").isEqualTo(INPUTS);
            assertThat(outputs).as("teacher outputs under read_committed").isEqualTo(INPUTS);
            assertThat(distinctOutputs).as("distinct teacher outputs").isEqualTo(INPUTS);
            assertThat(deadLetters).as("dead letters").isZero();
            assertThat(sameLogitsAs(expected)).as("teacher outputs equal to the undisturbed run's").isEqualTo(INPUTS);
            assertThat(steps).as("trained steps").isEqualTo(STEPS);
            assertThat(samples).as("trained samples").isEqualTo(INPUTS);
            assertThat(modelSha256).as("the trainer's model sha256").isEqualTo(expected.modelSha256);
        }
    }

    /** Ingest producer, teacher-service and online trainer on their own topics ({@code <prefix>.*}). */
    private static final class Pipeline implements AutoCloseable {
        private static final Duration TIMEOUT = Duration.ofMinutes(3);

        final KdConfig config;
        private final Map<String, Object> props;
        private final Path ledger;
        private final long started = System.nanoTime();
        private final Teacher teacher;
        private final TeacherService service;
        private final Trainer trainer;
        private final CompletableFuture<Trainer.Result> training;
        private final Feeder feeder;

        Pipeline(String prefix, Path dir) throws Exception {
            props = new HashMap<>();
            props.put("bootstrap.servers", kafka.bootstrapServers());
            props.put("schema.registry.url", "mock://fault-" + prefix);
            TopicProps.prefixed(props, prefix);
            props.put(KdConfig.TOPICS_PARTITIONS_CONFIG, "1");
            props.put(KdConfig.TOPICS_REPLICATION_FACTOR_CONFIG, Integer.toString(BROKERS));
            props.put(KdConfig.TOPICS_MIN_INSYNC_REPLICAS_CONFIG, Integer.toString(BROKERS - 1));
            config = new KdConfig(props);
            try (TopicAdmin admin = new TopicAdmin(KafkaClients.admin(config), Duration.ofSeconds(60), true)) {
                admin.ensureTopics(TopicAdmin.catalog(config));
            }
            Path checkpoints = dir.resolve("trainer");
            ledger = checkpoints.resolve(Trainer.LEDGER_FILE);
            TeacherConfig teacherConfig = new TeacherConfig(teacherProps(props, prefix));
            TrainerConfig trainerConfig = new TrainerConfig(trainerProps(props, prefix, checkpoints));
            teacher = FuzzedInputIT.randomTeacher(dir.resolve("teacher"));
            service = TeacherService.builder().setConfig(teacherConfig).setTeacher(teacher).build();
            service.start();
            trainer = Trainer.builder().setConfig(trainerConfig).build();
            training = CompletableFuture.supplyAsync(trainer::run);
            feeder = new Feeder(config);
        }

        private static Map<String, Object> teacherProps(Map<String, Object> base, String prefix) {
            Map<String, Object> p = TeacherProps.smallTransactions(base, prefix);
            // one input per forward pass: the logits must not depend on how inputs were batched around a fault
            p.put(TeacherConfig.BATCH_MAX_SIZE_CONFIG, 1);
            p.put(TeacherConfig.BATCH_MAX_WAIT_MS_CONFIG, 0);
            p.put(TeacherConfig.TRANSACTION_MAX_INPUTS_CONFIG, 32);
            p.put(TeacherConfig.RETRY_BACKOFF_MS_CONFIG, 200);
            p.put(TeacherConfig.TRANSACTION_TIMEOUT_MS_CONFIG, 30_000);
            p.put("session.timeout.ms", 20_000);
            p.put("heartbeat.interval.ms", 2_000);
            p.put("request.timeout.ms", 10_000);
            p.put("delivery.timeout.ms", 120_000);
            return p;
        }

        private static Map<String, Object> trainerProps(Map<String, Object> base, String prefix, Path checkpoints) {
            Map<String, Object> p = new HashMap<>(base);
            p.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, checkpoints.toString());
            p.put(TrainerConfig.GROUP_CONFIG, prefix + "-trainer");
            p.put(TrainerConfig.RUN_ID_CONFIG, prefix + "-run");
            p.put(TrainerConfig.FOLLOW_CONFIG, "true");
            p.put(TrainerConfig.EPOCHS_CONFIG, "1");
            p.put(TrainerConfig.MAX_STEPS_CONFIG, Integer.toString(STEPS));
            p.put(TrainerConfig.BATCH_SIZE_CONFIG, Integer.toString(BATCH));
            // batches are only ever cut full, whatever a fault delays: the same records make the same batches
            p.put(TrainerConfig.FOLLOW_MAX_WAIT_CONFIG, "600000");
            p.put(TrainerConfig.CHECKPOINT_INTERVAL_CONFIG, "4");
            p.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "0");
            p.put(TrainerConfig.LEARNING_RATE_CONFIG, "0.002");
            return p;
        }

        /** Lets the feeder send inputs {@code 0..n-1}. */
        void allow(int n) {
            feeder.allowed.set(Math.min(n, INPUTS));
        }

        long outputs() {
            return service.metrics().snapshot().outputs();
        }

        /** Steps the trainer has logged in its ledger so far. */
        long trainedSteps() {
            try {
                return Files.exists(ledger) ? Files.readAllLines(ledger).stream().filter(l -> !l.isBlank()).count() : 0;
            } catch (java.io.IOException e) {
                return 0; // being rewritten; read again at the next poll
            }
        }

        void await(BooleanSupplier condition, String what) throws InterruptedException {
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (!condition.getAsBoolean()) {
                assertThat(service.isRunning()).as("teacher workers alive while waiting for " + what).isTrue();
                assertThat(training).as("trainer still running while waiting for " + what).isNotDone();
                assertThat(feeder.loop).as("feeder still running while waiting for " + what).isNotDone();
                assertThat(System.nanoTime()).as(what + " within " + TIMEOUT).isLessThan(deadline);
                Thread.sleep(50);
            }
        }

        /** Lets every input through, waits for the trainer's last step and the teacher's last commit, and counts. */
        Outcome finish() throws Exception {
            allow(INPUTS);
            Trainer.Result result = training.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            await(() -> service.metrics().snapshot().inputs() >= INPUTS, "every input committed by the teacher");
            feeder.awaitSent();
            long aborts = service.metrics().snapshot().aborts();
            String inputs = config.topics().inputs();
            String outputs = config.topics().teacherOutputs();
            List<ConsumerRecord<byte[], byte[]>> in = readAll(inputs, "read_committed");
            List<ConsumerRecord<byte[], byte[]>> out = readAll(outputs, "read_committed");
            long uncommitted = readAll(outputs, "read_uncommitted").size();
            long dead = readAll(config.topics().dlq(), "read_committed").size();
            Deserializer<TeacherOutput> deserializer = KdAvroSerdes.value(TeacherOutput.class, config.serdeProperties()).deserializer();
            Map<String, ByteBuffer> logits = new TreeMap<>();
            for (ConsumerRecord<byte[], byte[]> r : out) {
                TeacherOutput o = deserializer.deserialize(outputs, r.value());
                logits.put(o.getInputId(), o.getLogits().getValues().getData());
            }
            return new Outcome(in.size(), in.stream().map(r -> new String(r.key(), StandardCharsets.UTF_8)).distinct().count(),
                    feeder.failed.get(), out.size(), out.stream().map(r -> new String(r.key(), StandardCharsets.UTF_8)).distinct().count(),
                    uncommitted, dead, aborts, logits, result.steps(), result.samples(), result.modelSha256(), seconds(started));
        }

        private List<ConsumerRecord<byte[], byte[]>> readAll(String topic, String isolation) {
            List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
            try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null,
                    Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation))) {
                List<TopicPartition> tps = consumer.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
                consumer.assign(tps);
                consumer.seekToBeginning(tps);
                Map<TopicPartition, Long> end = consumer.endOffsets(tps);
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (tps.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                    assertThat(System.nanoTime()).as("read " + topic + " within 60 s").isLessThan(deadline);
                    consumer.poll(Duration.ofMillis(200)).forEach(records::add);
                }
            }
            return records;
        }

        @Override
        public void close() {
            try {
                feeder.close();
            } finally {
                trainer.stop();
                try {
                    training.handle((r, e) -> r).get(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    throw new IllegalStateException("the trainer did not stop: " + e, e);
                } finally {
                    trainer.close();
                    service.close();
                    teacher.close();
                }
            }
        }
    }

    /**
     * Sends inputs {@code in-00000 ..} in order, a few at a time, never beyond the number allowed so far, through
     * kdstream's idempotent producer; counts the sends that failed.
     */
    private static final class Feeder implements AutoCloseable {
        private static final int CHUNK = 16;

        final AtomicInteger allowed = new AtomicInteger();
        final AtomicInteger sent = new AtomicInteger();
        final AtomicInteger failed = new AtomicInteger();
        private final AtomicBoolean closed = new AtomicBoolean();
        private final Producer<byte[], byte[]> producer;
        private final Serializer<InputRecord> serializer;
        private final String topic;
        final CompletableFuture<Void> loop;

        Feeder(KdConfig config) {
            producer = KafkaClients.producer(config, "fault-ingest", Map.of("delivery.timeout.ms", 180_000,
                    "request.timeout.ms", 10_000, "max.block.ms", 180_000, "linger.ms", 5));
            serializer = KdAvroSerdes.value(InputRecord.class, config.serdeProperties()).serializer();
            topic = config.topics().inputs();
            loop = CompletableFuture.runAsync(this::run);
        }

        private void run() {
            try {
                while (!closed.get()) {
                    int next = sent.get();
                    int until = Math.min(allowed.get(), next + CHUNK);
                    if (next >= until) {
                        Thread.sleep(20);
                        continue;
                    }
                    for (int i = next; i < until; i++) {
                        producer.send(record(i), (metadata, e) -> {
                            if (e != null) {
                                failed.incrementAndGet();
                            }
                        });
                    }
                    sent.set(until);
                    Thread.sleep(40);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private ProducerRecord<byte[], byte[]> record(int i) {
            String id = String.format("in-%05d", i);
            byte[] px = new byte[784];
            new Random(i).nextBytes(px);
            InputRecord r = InputRecord.newBuilder().setId(id).setSource("fault").setInput(TensorCodec.fromUint8(px, 1, 28, 28))
                    .setLabel(i % 10).setTimestampMs(Instant.EPOCH).setAttributes(Map.of()).build();
            return new ProducerRecord<>(topic, id.getBytes(StandardCharsets.UTF_8), serializer.serialize(topic, r));
        }

        void awaitSent() throws InterruptedException {
            long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
            while (sent.get() < INPUTS) {
                assertThat(loop).as("feeder running").isNotDone();
                assertThat(System.nanoTime()).as("every input sent").isLessThan(deadline);
                Thread.sleep(20);
            }
            producer.flush();
        }

        @Override
        public void close() {
            closed.set(true);
            try {
                loop.get(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                throw new IllegalStateException("the feeder did not stop cleanly: " + e, e);
            } finally {
                producer.close(Duration.ofSeconds(30));
            }
        }
    }
}
