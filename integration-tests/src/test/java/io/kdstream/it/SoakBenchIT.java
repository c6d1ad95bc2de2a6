package io.kdstream.it;

import io.kdstream.avro.DType;
import io.kdstream.avro.Logits;
import io.kdstream.avro.SourceCoordinates;
import io.kdstream.avro.TeacherInfo;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.it.support.ChildJvm;
import io.kdstream.it.support.KafkaTestCluster;
import io.kdstream.it.support.TestRegistry;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.trainer.TrainerConfig;
import io.kdstream.trainer.TrainerMain;

import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
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
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Soak benchmark, not part of the CI run: a trainer process trains on at least 500,000 samples (a topic of teacher
 * outputs replayed for several epochs) while its resident set size ({@code VmRSS} of {@code /proc/PID/status}) is
 * sampled every second; after a warm-up (the first fifth of the run) the RSS must stay within 5% of its value at the
 * end of the warm-up. The trainer's heap is fixed and pre-touched ({@code -Xms768m -Xmx768m -XX:+AlwaysPreTouch}) so
 * that what can grow is native memory (the engine's tensors) and metaspace. Run it with
 *
 * <pre>{@code ./mvnw -o -q -pl integration-tests verify -Dit.test=SoakBenchIT -Dkd.soak=true}</pre>
 *
 * ({@code -Dkd.soak.records=N -Dkd.soak.epochs=E} change the size; the samples are N x E).
 */
@EnabledIfSystemProperty(named = "kd.soak", matches = "true", disabledReason = "soak benchmark: run with -Dkd.soak=true")
class SoakBenchIT {

    @Test
    void shouldKeepTheTrainersResidentMemoryFlatOverHalfAMillionSamples(@TempDir Path dir) throws Exception {
        int records = Integer.getInteger("kd.soak.records", 50_000);
        int epochs = Integer.getInteger("kd.soak.epochs", 10);
        try (KafkaTestCluster kafka = KafkaTestCluster.start(); TestRegistry registry = TestRegistry.start(kafka.bootstrapServers())) {
            // Given a topic of teacher outputs
            Map<String, Object> props = new HashMap<>();
            props.put("bootstrap.servers", kafka.bootstrapServers());
            props.put("schema.registry.url", registry.url());
            props.put(KdConfig.TOPICS_PARTITIONS_CONFIG, "2");
            props.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, dir.resolve("run").toString());
            props.put(TrainerConfig.GROUP_CONFIG, "soak-trainer");
            props.put(TrainerConfig.EPOCHS_CONFIG, Integer.toString(epochs));
            props.put(TrainerConfig.BATCH_SIZE_CONFIG, "64");
            props.put(TrainerConfig.SHUFFLE_BUFFER_CONFIG, "1024");
            props.put(TrainerConfig.CHECKPOINT_INTERVAL_CONFIG, "500");
            props.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "0");
            KdConfig config = new KdConfig(props);
            try (TopicAdmin admin = new TopicAdmin(KafkaClients.admin(config), Duration.ofSeconds(30), true)) {
                admin.ensureTopics(TopicAdmin.catalog(config));
            }
            produce(config, records);

            // When a trainer process trains epochs x records samples, its RSS sampled every second
            Path file = dir.resolve("soak.properties");
            Properties p = new Properties();
            props.forEach((k, v) -> p.setProperty(k, String.valueOf(v)));
            try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
                p.store(w, "soak trainer");
            }
            Path log = dir.resolve("trainer.log");
            // a fixed, pre-touched heap: heap growth is not counted as drift, native growth is
            Process trainer = ChildJvm.start(List.of("-Dai.djl.offline=true", "-Xms768m", "-Xmx768m", "-XX:+AlwaysPreTouch"),
                    TrainerMain.class, List.of(file.toString()), log);
            List<long[]> rss = new ArrayList<>();
            long t0 = System.nanoTime();
            while (!trainer.waitFor(1, TimeUnit.SECONDS)) {
                long kb = rssKb(trainer.pid());
                if (kb > 0) {
                    rss.add(new long[] {(System.nanoTime() - t0) / 1_000_000, kb});
                }
            }
            String out = Files.readString(log);
            assertThat(trainer.exitValue()).as(out).isZero();
            // every record of every epoch was trained on: the figure the trainer reports, not the one asked for
            Matcher finished = Pattern.compile("finished: (\\d+) steps, (\\d+) samples").matcher(out);
            assertThat(finished.find()).as("the trainer's summary line in %s", log).isTrue();
            long trained = Long.parseLong(finished.group(2));
            assertThat(trained).isEqualTo((long) records * epochs);

            // Then, after the warm-up, the RSS stays within 5% of its value at the end of the warm-up
            assertThat(rss).hasSizeGreaterThan(10);
            int warm = rss.size() / 5;
            long atWarm = rss.get(warm)[1];
            long max = rss.subList(warm, rss.size()).stream().mapToLong(s -> s[1]).max().orElseThrow();
            long min = rss.subList(warm, rss.size()).stream().mapToLong(s -> s[1]).min().orElseThrow();
            long last = rss.get(rss.size() - 1)[1];
            double drift = 100.0 * (max - atWarm) / atWarm;
            System.out.printf(Locale.ROOT, "SoakBenchIT: %d samples trained (%d records x %d epochs) in %.1f s; RSS after "
                            + "warm-up (%.1f s) %d MiB, min %d MiB, max %d MiB, last %d MiB; largest rise %.2f%%, last %.2f%%%n",
                    trained, records, epochs, rss.get(rss.size() - 1)[0] / 1e3, rss.get(warm)[0] / 1e3,
                    atWarm / 1024, min / 1024, max / 1024, last / 1024, drift, 100.0 * (last - atWarm) / atWarm);
            StringBuilder trend = new StringBuilder();
            for (int q = 1; q <= 10; q++) {
                long[] s = rss.get(Math.min(rss.size() - 1, q * rss.size() / 10));
                trend.append(String.format(Locale.ROOT, " %.0fs:%dMiB", s[0] / 1e3, s[1] / 1024));
            }
            System.out.println("SoakBenchIT: RSS trend" + trend);
            assertThat(out).contains("model-sha256:");
            assertThat(drift).as("RSS rise after warm-up, percent").isLessThanOrEqualTo(5.0);
        }
    }

    private static long rssKb(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    private static void produce(KdConfig config, int n) {
        Serializer<TeacherOutput> serializer = KdAvroSerdes.value(TeacherOutput.class, config.serdeProperties()).serializer();
        String topic = config.topics().teacherOutputs();
        Random rng = new Random(11);
        try (Producer<byte[], byte[]> producer = KafkaClients.producer(config, "soak", Map.of())) {
            for (int i = 0; i < n; i++) {
                byte[] px = new byte[784];
                rng.nextBytes(px);
                int label = rng.nextInt(10);
                float[] logits = new float[10];
                for (int c = 0; c < 10; c++) {
                    logits[c] = c == label ? 5f : (float) rng.nextGaussian();
                }
                TeacherOutput t = TeacherOutput.newBuilder()
                        .setInputId("soak-" + i).setInput(TensorCodec.fromUint8(px, 1, 28, 28)).setLabel(label).setLabels(null)
                        .setTeacher(new TeacherInfo("soak-teacher", "1", "ef".repeat(32)))
                        .setLogits(new Logits(10, TensorCodec.fromFloats(logits, DType.FLOAT32, 10), null))
                        .setFeatures(List.of()).setSource(new SourceCoordinates("kd.inputs", 0, (long) i))
                        .setProducedAtMs(Instant.EPOCH).setAttributes(Map.of()).build();
                producer.send(new ProducerRecord<>(topic, ("soak-" + i).getBytes(StandardCharsets.UTF_8), serializer.serialize(topic, t)));
            }
            producer.flush();
        }
    }
}
