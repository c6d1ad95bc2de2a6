package io.kdstream.it;

import io.kdstream.core.config.KdConfig;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.it.support.ChildJvm;
import io.kdstream.it.support.KafkaTestCluster;
import io.kdstream.it.support.TestRegistry;
import io.kdstream.trainer.TrainerConfig;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Benchmark, not a test (opt-in: {@code -Dkd.groupbench=true}): throughput and final accuracy of one trainer against
 * two in a group on the same data, and the effect of the averaging interval K. Every configuration is its own
 * trainer group on the same topic (fan-out: independent experiments). Each member is a separate JVM with one
 * intra-op thread. Prints a table and writes it to {@code target/group-bench.md}; asserts only that the runs finished.
 */
@EnabledIfSystemProperty(named = "kd.groupbench", matches = "true", disabledReason = "group benchmark: run with -Dkd.groupbench=true")
class GroupBenchIT {
    private static final int RECORDS = Integer.getInteger("kd.groupbench.records", 60_000);
    private static final Pattern ACCURACY = Pattern.compile("student accuracy ([0-9.]+)");
    private static final Pattern FINISHED = Pattern.compile("(\\d+) samples in the group model, ([0-9.]+) s training");

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

    private record Outcome(int members, int k, double samplesPerSecond, double accuracy, long samples) {
    }

    @Test
    void benchmarkOneAgainstTwoTrainersAndTheAveragingInterval(@TempDir Path dir) throws Exception {
        Map<String, Object> base = TrainerIT.Fixtures.props(kafka, registry, "bench", dir);
        base.put(KdConfig.TOPICS_PARTITIONS_CONFIG, "4");
        base.put(TrainerConfig.GROUP_TRAINING_CONFIG, "true");
        base.put(TrainerConfig.EPOCHS_CONFIG, "1");
        base.put(TrainerConfig.BATCH_SIZE_CONFIG, "64");
        base.put(TrainerConfig.SHUFFLE_BUFFER_CONFIG, "1024");
        base.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "10000");
        base.put(TrainerConfig.GROUP_SYNC_TIMEOUT_CONFIG, "60000");
        base.put("session.timeout.ms", "10000");
        TrainerIT.Fixtures.createTopics(base);
        TrainerIT.Fixtures.produce(base, 0, RECORDS, TrainerIT.Fixtures::valid);

        List<Outcome> outcomes = new ArrayList<>();
        outcomes.add(run(base, dir, 1, 20));
        for (int k : new int[] {1, 5, 20, 100}) {
            outcomes.add(run(base, dir, 2, k));
        }
        Outcome single = outcomes.get(0);
        StringBuilder table = new StringBuilder();
        table.append(String.format(Locale.ROOT, "%d records, batch 64, fmnist-mlp-student, Adam lr 0.002, one thread per member, "
                + "accuracy on 10,000 test images%n%n", RECORDS));
        table.append("| members | K | samples/s | speed-up vs 1 | accuracy | accuracy ratio vs 1 |\n| --- | --- | --- | --- | --- | --- |\n");
        for (Outcome o : outcomes) {
            table.append(String.format(Locale.ROOT, "| %d | %d | %.0f | %.2f | %.4f | %.3f |%n", o.members(), o.k(),
                    o.samplesPerSecond(), o.samplesPerSecond() / single.samplesPerSecond(), o.accuracy(),
                    o.accuracy() / single.accuracy()));
        }
        System.out.println(table);
        Path out = Path.of("target", "group-bench.md");
        Files.createDirectories(out.getParent());
        Files.writeString(out, table.toString());
        assertThat(outcomes).allSatisfy(o -> assertThat(o.samples()).isEqualTo(RECORDS));
    }

    private static Outcome run(Map<String, Object> base, Path dir, int members, int k) throws Exception {
        String group = "bench-m" + members + "-k" + k;
        List<Process> processes = new ArrayList<>();
        List<Path> logs = new ArrayList<>();
        for (int m = 0; m < members; m++) {
            Map<String, Object> props = new HashMap<>(base);
            props.put(TrainerConfig.GROUP_CONFIG, group);
            props.put(TrainerConfig.GROUP_SYNC_INTERVAL_CONFIG, String.valueOf(k));
            props.put(TrainerConfig.GROUP_MIN_MEMBERS_CONFIG, String.valueOf(members));
            props.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, dir.resolve(group + "-" + m).toString());
            props.put(TrainerConfig.RUN_ID_CONFIG, group + "-" + m);
            Path file = dir.resolve(group + "-" + m + ".properties");
            Properties p = new Properties();
            props.forEach((key, v) -> p.setProperty(key, String.valueOf(v)));
            try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
                p.store(w, "group bench");
            }
            Path log = dir.resolve(group + "-" + m + ".log");
            logs.add(log);
            processes.add(launch(file, log));
        }
        double seconds = 0;
        double accuracy = 0;
        long samples = 0;
        for (int m = 0; m < members; m++) {
            boolean finished = processes.get(m).waitFor(600, TimeUnit.SECONDS);
            String log = Files.readString(logs.get(m));
            if (!finished) {
                processes.forEach(Process::destroyForcibly);
            }
            assertThat(finished && processes.get(m).exitValue() == 0).as(log).isTrue();
            Matcher f = FINISHED.matcher(log);
            assertThat(f.find()).as(log).isTrue();
            samples = Long.parseLong(f.group(1));
            seconds = Math.max(seconds, Double.parseDouble(f.group(2)));
            Matcher a = ACCURACY.matcher(log);
            assertThat(a.find()).as(log).isTrue();
            accuracy = Double.parseDouble(a.group(1));
        }
        return new Outcome(members, k, samples / seconds, accuracy, samples);
    }

    private static Process launch(Path properties, Path log) throws IOException {
        return ChildJvm.trainer(properties, log);
    }
}
