package io.kdstream.it;

import io.kdstream.avro.TeacherOutput;
import io.kdstream.avro.TrainingStep;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.it.support.ChildJvm;
import io.kdstream.it.support.KafkaTestCluster;
import io.kdstream.it.support.TestRegistry;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;
import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.state.Checkpoint;
import io.kdstream.trainer.run.Ledger;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A trainer process killed hard (SIGKILL, no shutdown hook) at five random steps of one run, and started again after
 * each kill, ends with the model of an uninterrupted run, bit for bit; for an online run, the per-step ledger shows
 * every record trained exactly once.
 */
class TrainerCrashIT {

    private static final int KILLS = 5;

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
    void shouldEndWithTheUninterruptedModelAfterFiveHardKillsOfABoundedRun(@TempDir Path dir) throws Exception {
        // Given teacher outputs on two partitions and the model of an uninterrupted two-epoch run of the config
        Map<String, Object> base = TrainerIT.Fixtures.props(kafka, registry, "crash", dir.resolve("reference"));
        base.put(TrainerConfig.BATCH_SIZE_CONFIG, "16");
        base.put(TrainerConfig.CHECKPOINT_INTERVAL_CONFIG, "3");
        base.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "0");
        TrainerIT.Fixtures.createTopics(base);
        TrainerIT.Fixtures.produce(base, 0, 1_600, TrainerIT.Fixtures::valid);
        // (the reference is a separate process launched like the crashing one, so both run in the same environment)
        base.put(TrainerConfig.RUN_ID_CONFIG, "crash-reference");
        Reference reference = Reference.of(new Drill(base, dir, "crash-reference").finish());
        long totalSteps = reference.steps();
        assertThat(totalSteps).isEqualTo(200);

        // When a separate trainer process on the same config is killed at five random steps, and started again each time
        Map<String, Object> props = new HashMap<>(base);
        props.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, dir.resolve("crashing").toString());
        props.put(TrainerConfig.RUN_ID_CONFIG, "crash-run");
        // the kills stay in the first 70% of the run, so no process can finish between a step being seen and its kill
        List<Long> targets = killSteps("kd.it.crash.bounded.kills", new Random(), 5, (long) (totalSteps * 0.7), 12);
        Drill drill = new Drill(props, dir, "crash-run");
        for (long target : targets) {
            drill.killAt(target);
        }
        String out = drill.finish();

        // Then its model is bit-identical to the uninterrupted run's (and so is every step's published loss)
        long firstDifferentLoss = firstDifferentLoss(new KdConfig(props), "crash-run", reference.runId(), totalSteps);
        System.out.printf("TrainerCrashIT bounded run (2 partitions, 2 epochs, %d steps): %d kills requested at steps %s, "
                        + "last step reported before each kill %s; resumed from checkpoints at steps %s; first step whose "
                        + "published loss differs from the uninterrupted run's: %s; uninterrupted run's model sha256 %s%n",
                totalSteps, KILLS, targets, drill.seen, drill.checkpoints,
                firstDifferentLoss < 0 ? "none" : Long.toString(firstDifferentLoss), reference.modelSha256());
        assertThat(firstDifferentLoss).as("first step whose published loss differs from the uninterrupted run's (-1: none)")
                .isEqualTo(-1);
        assertEveryPublishedLoss(new KdConfig(props), "crash-run", reference.runId(), totalSteps);
        assertThat(out).contains("run-id: crash-run").contains("model-sha256: " + reference.modelSha256());
    }

    @Test
    void shouldTrainEveryRecordExactlyOnceAcrossFiveHardKillsOfAnOnlineRun(@TempDir Path dir) throws Exception {
        // Given an online run (it follows the topic and keeps a ledger) on one partition, fed while it runs
        int batch = 16;
        int steps = 60;
        Map<String, Object> props = TrainerIT.Fixtures.props(kafka, registry, "crashf", dir.resolve("crashing"));
        props.put(KdConfig.TOPICS_PARTITIONS_CONFIG, "1");
        props.put(TrainerConfig.FOLLOW_CONFIG, "true");
        props.put(TrainerConfig.EPOCHS_CONFIG, "1");
        props.put(TrainerConfig.MAX_STEPS_CONFIG, Integer.toString(steps));
        props.put(TrainerConfig.BATCH_SIZE_CONFIG, Integer.toString(batch));
        // batches are only ever cut full: records arrive in whole batches, in offset order, on one partition
        props.put(TrainerConfig.FOLLOW_MAX_WAIT_CONFIG, "60000");
        props.put(TrainerConfig.CHECKPOINT_INTERVAL_CONFIG, "3");
        props.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "0");
        props.put(TrainerConfig.RUN_ID_CONFIG, "crashf-run");
        TrainerIT.Fixtures.createTopics(props);
        Path checkpointDir = dir.resolve("crashing").resolve("run");
        Path ledgerFile = checkpointDir.resolve(Trainer.LEDGER_FILE);

        // When the trainer process is killed at five random steps and started again each time; the feed stays a few
        // batches ahead of the next kill, so every kill lands while the process is training
        List<Long> targets = killSteps("kd.it.crash.online.kills", new Random(), 5, steps - 8, 8);
        List<Integer> redone = new ArrayList<>();
        try (Feeder feeder = new Feeder(props, batch, steps)) {
            Drill drill = new Drill(props, dir, "crashf-run");
            for (long target : targets) {
                feeder.allow((int) target + 3);
                drill.killAt(target);
                long lines = Files.exists(ledgerFile) ? Files.readAllLines(ledgerFile).stream().filter(l -> !l.isBlank()).count() : 0;
                redone.add((int) (lines - drill.checkpoints.get(drill.checkpoints.size() - 1)));
            }
            feeder.allow(steps);
            String out = drill.finish();
            assertThat(feeder.sent()).isEqualTo(steps * batch);

            // Then the ledger names every record exactly once, steps 1..60 in offset order
            List<List<Batch.Segment>> ledger = Ledger.read(ledgerFile);
            assertThat(ledger).hasSize(steps);
            Map<Long, Integer> timesTrained = new TreeMap<>();
            for (List<Batch.Segment> entry : ledger) {
                for (Batch.Segment s : entry) {
                    assertThat(s.partition()).isZero();
                    for (long o = s.start(); o < s.end(); o++) {
                        timesTrained.merge(o, 1, Integer::sum);
                    }
                }
            }
            assertThat(timesTrained).hasSize(steps * batch);
            assertThat(new TreeSet<>(timesTrained.keySet()).first()).isZero();
            assertThat(new TreeSet<>(timesTrained.keySet()).last()).isEqualTo(steps * batch - 1L);
            assertThat(timesTrained.values()).allMatch(n -> n == 1);

            // ... and an uninterrupted run of the same config over the same records cuts the same batches and ends
            // with the same model, bit for bit
            Map<String, Object> refProps = new HashMap<>(props);
            refProps.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, dir.resolve("reference").toString());
            refProps.put(TrainerConfig.RUN_ID_CONFIG, "crashf-reference");
            refProps.put(TrainerConfig.GROUP_CONFIG, "crashf-reference");
            Reference reference = Reference.of(new Drill(refProps, dir, "crashf-reference").finish());
            assertThat(reference.steps()).isEqualTo(steps);
            assertThat(Files.readAllLines(dir.resolve("reference").resolve(Trainer.LEDGER_FILE)))
                    .isEqualTo(Files.readAllLines(ledgerFile));
            long firstDifferentLoss = firstDifferentLoss(new KdConfig(props), "crashf-run", "crashf-reference", steps);
            long duplicates = timesTrained.values().stream().filter(n -> n > 1).count();
            System.out.printf("TrainerCrashIT online run (1 partition, %d steps of %d): %d kills requested at steps %s, "
                            + "last step reported before each kill %s; resumed from checkpoints at steps %s; ledger steps redone after each "
                            + "kill %s; ledger: %d steps, %d records, offsets 0..%d each trained once (duplicates %d, missing "
                            + "%d), the uninterrupted run's ledger line for line; first step whose published loss differs from the "
                            + "uninterrupted run's: %s; uninterrupted run's model sha256 %s%n", steps, batch, KILLS, targets, drill.seen,
                    drill.checkpoints, redone, ledger.size(), timesTrained.size(), steps * batch - 1, duplicates,
                    steps * batch - timesTrained.size(), firstDifferentLoss < 0 ? "none" : Long.toString(firstDifferentLoss),
                    reference.modelSha256());
            assertThat(firstDifferentLoss).as("first step whose published loss differs from the uninterrupted run's (-1: none)")
                    .isEqualTo(-1);
            assertEveryPublishedLoss(new KdConfig(props), "crashf-run", "crashf-reference", steps);
            assertThat(out).contains("run-id: crashf-run").contains("model-sha256: " + reference.modelSha256());
        }
    }

    /**
     * The first step whose total loss, as last published by run {@code runId}, differs from the one run
     * {@code referenceRunId} published; -1 when all {@code steps} agree bit for bit. Says whether a mismatching run
     * diverged right after a resume or in the middle of a process.
     */
    private static long firstDifferentLoss(KdConfig config, String runId, String referenceRunId, long steps) {
        Map<Long, Double> crashed = new TreeMap<>();
        Map<Long, Double> reference = new TreeMap<>();
        // a run's steps are keyed by its id, so they share a partition and come back in the order they were published
        for (TrainingStep s : TrainerIT.Fixtures.readAll(config, config.topics().metrics(), TrainingStep.class)) {
            if (runId.equals(s.getRunId())) {
                crashed.put(s.getStep(), s.getTotalLoss());
            } else if (referenceRunId.equals(s.getRunId())) {
                reference.put(s.getStep(), s.getTotalLoss());
            }
        }
        for (long step = 1; step <= steps; step++) {
            if (!java.util.Objects.equals(crashed.get(step), reference.get(step))) {
                return step;
            }
        }
        return -1;
    }

    /**
     * The step losses, asserted so that "no step differs" cannot hold vacuously and covers every publication: the
     * uninterrupted run {@code referenceRunId} published each of steps 1..{@code steps} exactly once and no other step;
     * run {@code runId} published each of them at least once (a step redone after a resume is published again) and no
     * other; and every time it published a step, also from a process that was killed afterwards, the total loss was the
     * reference's, bit for bit.
     */
    private static void assertEveryPublishedLoss(KdConfig config, String runId, String referenceRunId, long steps) {
        Map<Long, List<Double>> crashed = new TreeMap<>();
        Map<Long, List<Double>> reference = new TreeMap<>();
        for (TrainingStep s : TrainerIT.Fixtures.readAll(config, config.topics().metrics(), TrainingStep.class)) {
            if (runId.equals(s.getRunId())) {
                crashed.computeIfAbsent(s.getStep(), k -> new ArrayList<>()).add(s.getTotalLoss());
            } else if (referenceRunId.equals(s.getRunId())) {
                reference.computeIfAbsent(s.getStep(), k -> new ArrayList<>()).add(s.getTotalLoss());
            }
        }
        List<Long> all = java.util.stream.LongStream.rangeClosed(1, steps).boxed().toList();
        assertThat(reference.keySet()).as("steps the uninterrupted run " + referenceRunId + " published")
                .containsExactlyElementsOf(all);
        reference.forEach((step, losses) -> assertThat(losses).as("losses the uninterrupted run published for step " + step)
                .hasSize(1));
        assertThat(crashed.keySet()).as("steps the crashed run " + runId + " published").containsExactlyElementsOf(all);
        crashed.forEach((step, losses) -> assertThat(losses).as("every loss the crashed run published for step " + step)
                .containsOnly(reference.get(step).get(0)));
    }

    /** What an uninterrupted trainer process printed at its end. */
    private record Reference(String runId, String modelSha256, long steps) {
        static Reference of(String out) {
            return new Reference(line(out, "run-id: "), line(out, "model-sha256: "), Long.parseLong(line(out, "steps: ")));
        }

        private static String line(String out, String prefix) {
            return out.lines().filter(l -> l.startsWith(prefix)).map(l -> l.substring(prefix.length()).trim()).reduce((a, b) -> b)
                    .orElseThrow(() -> new AssertionError("no '" + prefix + "' line in the trainer's output:\n" + out));
        }
    }

    /**
     * {@code n} distinct kill steps in {@code [4, max]}, ascending, at least {@code gap} apart; or the ones the system
     * property {@code property} lists (comma-separated), to repeat the kills of a run that failed.
     */
    private static List<Long> killSteps(String property, Random rng, int n, long max, int gap) {
        String fixed = System.getProperty(property, "");
        if (!fixed.isBlank()) {
            return java.util.Arrays.stream(fixed.split(",")).map(String::trim).map(Long::valueOf).toList();
        }
        long slack = max - 4 - (long) (n - 1) * gap;
        assertThat(slack).as("room for " + n + " kills").isPositive();
        long[] extra = new long[n];
        for (int i = 0; i < n; i++) {
            extra[i] = (long) (rng.nextDouble() * slack);
        }
        java.util.Arrays.sort(extra);
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(4 + extra[i] + (long) i * gap);
        }
        return out;
    }

    /** Runs, kills and restarts one trainer process on one properties file, and records where each kill landed. */
    private static final class Drill {
        private final KdConfig config;
        private final Path dir;
        private final Path file;
        private final Path checkpointDir;
        private final String runId;
        final List<Long> seen = new ArrayList<>();
        final List<Long> checkpoints = new ArrayList<>();
        private int launches;

        Drill(Map<String, Object> props, Path dir, String runId) throws IOException {
            this.config = new KdConfig(props);
            this.dir = dir;
            this.file = dir.resolve(runId + ".properties");
            this.checkpointDir = Path.of(String.valueOf(props.get(TrainerConfig.CHECKPOINT_DIR_CONFIG)));
            this.runId = runId;
            writeProperties(props, file);
        }

        /** Starts the process, waits until it has trained step {@code target} (or later), and kills it. */
        void killAt(long target) throws Exception {
            Map<TopicPartition, Long> from = metricsEnd();
            Path log = dir.resolve(runId + "-" + (++launches) + ".log");
            Process process = launch(log);
            long last = waitForStep(target, process, from);
            process.destroyForcibly();
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            String out = Files.readString(log);
            assertThat(out).as("the run did not finish before its kill").doesNotContain("model-sha256:");
            expectResumedFromLastCheckpoint(out);
            long checkpointed = Checkpoint.read(checkpointDir).map(Checkpoint::step).orElse(0L);
            assertThat(checkpointed).isPositive().isGreaterThanOrEqualTo(checkpoints.isEmpty() ? 0 : checkpoints.get(checkpoints.size() - 1));
            seen.add(last);
            checkpoints.add(checkpointed);
        }

        /** Starts the process a last time, waits for it to finish and returns its output. */
        String finish() throws Exception {
            Path log = dir.resolve(runId + "-" + (++launches) + ".log");
            Process process = launch(log);
            boolean exited = process.waitFor(180, TimeUnit.SECONDS);
            if (!exited) {
                process.destroyForcibly();
            }
            String out = Files.readString(log);
            assertThat(exited).as(out).isTrue();
            assertThat(process.exitValue()).as(out).isZero();
            expectResumedFromLastCheckpoint(out);
            return out;
        }

        private void expectResumedFromLastCheckpoint(String out) {
            if (!checkpoints.isEmpty()) {
                assertThat(out).contains("Resuming run " + runId + " from checkpoint at step " + checkpoints.get(checkpoints.size() - 1));
            }
        }

        private Process launch(Path log) throws IOException {
            return ChildJvm.trainer(file, log);
        }

        private Map<TopicPartition, Long> metricsEnd() {
            String topic = config.topics().metrics();
            try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
                List<TopicPartition> tps = consumer.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
                return consumer.endOffsets(tps);
            }
        }

        /** Follows the metrics topic from {@code from} until this run reports {@code step} or later; returns that step. */
        private long waitForStep(long step, Process process, Map<TopicPartition, Long> from) {
            Deserializer<TrainingStep> deserializer = KdAvroSerdes.value(TrainingStep.class, config.serdeProperties()).deserializer();
            String topic = config.topics().metrics();
            long last = 0;
            long deadline = System.currentTimeMillis() + 120_000;
            try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
                consumer.assign(from.keySet());
                from.forEach(consumer::seek);
                while (last < step) {
                    assertThat(System.currentTimeMillis()).as("trainer reached step " + step).isLessThan(deadline);
                    assertThat(process.isAlive()).as("trainer process alive before step " + step).isTrue();
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(10))) {
                        TrainingStep s = deserializer.deserialize(topic, r.value());
                        if (runId.equals(s.getRunId())) {
                            last = Math.max(last, s.getStep());
                        }
                    }
                }
            }
            return last;
        }
    }

    /** Feeds teacher outputs to one partition in whole batches, never beyond the number of batches allowed so far. */
    private static final class Feeder implements AutoCloseable {
        private final Producer<byte[], byte[]> producer;
        private final Serializer<TeacherOutput> serializer;
        private final String topic;
        private final int batch;
        private final int maxBatches;
        private final AtomicInteger allowed = new AtomicInteger();
        private final AtomicInteger sentBatches = new AtomicInteger();
        private final AtomicBoolean closed = new AtomicBoolean();
        private final CompletableFuture<Void> loop;

        Feeder(Map<String, Object> props, int batch, int maxBatches) {
            KdConfig config = new KdConfig(props);
            this.producer = KafkaClients.producer(config, "crash-feeder", Map.of());
            this.serializer = KdAvroSerdes.value(TeacherOutput.class, config.serdeProperties()).serializer();
            this.topic = config.topics().teacherOutputs();
            this.batch = batch;
            this.maxBatches = maxBatches;
            this.loop = CompletableFuture.runAsync(this::run);
        }

        void allow(int batches) {
            allowed.set(Math.min(batches, maxBatches));
        }

        /** Waits until every allowed batch is sent; returns the records sent. */
        int sent() throws Exception {
            long deadline = System.currentTimeMillis() + 60_000;
            while (sentBatches.get() < allowed.get()) {
                assertThat(loop.isDone()).as("feeder failed").isFalse();
                assertThat(System.currentTimeMillis()).as("feeder sent every batch").isLessThan(deadline);
                Thread.sleep(50);
            }
            return sentBatches.get() * batch;
        }

        private void run() {
            try {
                while (!closed.get()) {
                    int b = sentBatches.get();
                    if (b >= allowed.get()) {
                        Thread.sleep(20);
                        continue;
                    }
                    List<Future<RecordMetadata>> acks = new ArrayList<>();
                    for (int i = b * batch; i < (b + 1) * batch; i++) {
                        TeacherOutput t = TrainerIT.Fixtures.valid(i);
                        acks.add(producer.send(new ProducerRecord<>(topic, 0, t.getInputId().getBytes(StandardCharsets.UTF_8),
                                serializer.serialize(topic, t))));
                    }
                    producer.flush();
                    for (Future<RecordMetadata> f : acks) {
                        f.get(30, TimeUnit.SECONDS);
                    }
                    sentBatches.incrementAndGet();
                    Thread.sleep(60);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                throw new IllegalStateException("feeding teacher outputs failed: " + e, e);
            }
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
                producer.close(Duration.ofSeconds(10));
            }
        }
    }

    private static void writeProperties(Map<String, Object> props, Path file) throws IOException {
        Properties p = new Properties();
        props.forEach((k, v) -> p.setProperty(k, String.valueOf(v)));
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            p.store(w, "crash test trainer");
        }
    }
}
