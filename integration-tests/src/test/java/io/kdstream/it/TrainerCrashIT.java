package io.kdstream.it;

import io.kdstream.avro.TrainingStep;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.it.support.KafkaTestCluster;
import io.kdstream.it.support.TestRegistry;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;
import io.kdstream.trainer.TrainerMain;
import io.kdstream.trainer.internals.Checkpoint;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
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
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A trainer process killed hard mid-run and started again ends with the same model as an uninterrupted run. */
class TrainerCrashIT {

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
    void shouldEndWithTheUninterruptedModelAfterAHardKillAndRestart(@TempDir Path dir) throws Exception {
        // Given teacher outputs and the model of an uninterrupted run of the config
        Map<String, Object> base = TrainerIT.Fixtures.props(kafka, registry, "crash", dir.resolve("reference"));
        base.put(TrainerConfig.CHECKPOINT_INTERVAL_CONFIG, "3");
        base.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "0");
        TrainerIT.Fixtures.createTopics(base);
        TrainerIT.Fixtures.produce(base, 0, 800, TrainerIT.Fixtures::valid);
        Trainer.Result reference;
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(base)).build()) {
            reference = trainer.run();
        }
        long totalSteps = reference.steps();

        // When a separate trainer process on the same config is killed (SIGKILL, no shutdown hook) at a random step
        Map<String, Object> props = new HashMap<>(base);
        props.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, dir.resolve("crashing").toString());
        props.put(TrainerConfig.RUN_ID_CONFIG, "crash-run");
        Path file = dir.resolve("crash.properties");
        writeProperties(props, file);
        // a random step in the first half, so the process cannot finish between the step being seen and the kill
        long killAt = 4 + new Random().nextInt((int) totalSteps / 2 - 4);
        Process first = launch(file, dir.resolve("first.log"));
        long seen = waitForStep(new KdConfig(props), "crash-run", killAt, first);
        first.destroyForcibly();
        assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(Files.readString(dir.resolve("first.log"))).doesNotContain("model-sha256:");
        long checkpointed = Checkpoint.read(dir.resolve("crashing")).map(Checkpoint::step).orElse(0L);
        assertThat(checkpointed).isPositive().isLessThan(totalSteps);

        // ... and started again
        Process second = launch(file, dir.resolve("second.log"));
        assertThat(second.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String out = Files.readString(dir.resolve("second.log"));
        assertThat(second.exitValue()).as(out).isZero();

        // Then its model is bit-identical to the uninterrupted run's
        assertThat(out).contains("Resuming run crash-run from checkpoint at step " + checkpointed);
        assertThat(out).contains("run-id: crash-run").contains("model-sha256: " + reference.modelSha256());
        assertThat(seen).isGreaterThanOrEqualTo(killAt);
    }

    private static void writeProperties(Map<String, Object> props, Path file) throws IOException {
        Properties p = new Properties();
        props.forEach((k, v) -> p.setProperty(k, String.valueOf(v)));
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            p.store(w, "crash test trainer");
        }
    }

    private static Process launch(Path properties, Path log) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=1",
                "-Dai.djl.pytorch.num_interop_threads=1", "-Xmx1g", "-cp", System.getProperty("java.class.path"),
                TrainerMain.class.getName(), properties.toString()));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** Follows the metrics topic until the run reports {@code step}; returns the last step seen. */
    private static long waitForStep(KdConfig config, String runId, long step, Process process) {
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
        return last;
    }
}
