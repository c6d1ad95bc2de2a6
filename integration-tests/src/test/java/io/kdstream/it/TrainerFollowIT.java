package io.kdstream.it;

import io.kdstream.avro.RunManifest;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.trainer.Replay;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;
import io.kdstream.it.support.ItTopics;
import io.kdstream.it.support.LedgerCheck;
import io.kdstream.trainer.run.Ledger;
import io.kdstream.it.support.LocalKafka;

import org.apache.kafka.clients.consumer.ConsumerRecord;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** An online run trains on teacher outputs as they arrive, keeps a per-step ledger, and replays from it bit for bit. */
class TrainerFollowIT {

    @RegisterExtension
    static final LocalKafka STACK = LocalKafka.withFashionMnist();

    @Test
    void shouldTrainOnRecordsAsTheyArriveAndReplayTheLedger(@TempDir Path dir) throws Exception {
        // Given 200 teacher outputs and an online trainer following the topic
        Map<String, Object> props = TrainerIT.Fixtures.props(STACK.kafka(), STACK.registry(), "follow", dir);
        props.put(TrainerConfig.FOLLOW_CONFIG, "true");
        props.put(TrainerConfig.EPOCHS_CONFIG, "1");
        props.put(TrainerConfig.FOLLOW_MAX_WAIT_CONFIG, "300");
        props.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "0");
        props.put(TrainerConfig.CHECKPOINT_INTERVAL_CONFIG, "3");
        TrainerIT.Fixtures.createTopics(props);
        TrainerIT.Fixtures.produce(props, 0, 200, TrainerIT.Fixtures::valid);
        Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props)).build();
        CompletableFuture<Trainer.Result> running = CompletableFuture.supplyAsync(trainer::run);

        // When more records arrive while it runs, and it is stopped once they are trained on
        Thread.sleep(2_000);
        TrainerIT.Fixtures.produce(props, 200, 350, TrainerIT.Fixtures::valid);
        Path ledgerFile = dir.resolve("run").resolve(Trainer.LEDGER_FILE);
        long deadline = System.currentTimeMillis() + 60_000;
        while (ledgerSamples(ledgerFile) < 350 && System.currentTimeMillis() < deadline) {
            Thread.sleep(200);
        }
        trainer.stop();
        Trainer.Result result = running.get(60, TimeUnit.SECONDS);

        // Then every record was trained on exactly once: the ledger's offsets, expanded record by record, are each
        // offset the topic holds (asked of the broker, not of the trainer), once, and nothing else
        assertThat(result.completed()).isTrue();
        Map<Integer, List<Long>> trained = trainedOffsets(ledgerFile);
        Map<Integer, List<Long>> held = heldOffsets(props);
        assertThat(held.values().stream().mapToInt(List::size).sum()).isEqualTo(350);
        assertThat(trained.keySet()).isEqualTo(held.keySet());
        held.forEach((partition, offsets) -> assertThat(trained.get(partition)).as("partition " + partition)
                .containsExactlyInAnyOrderElementsOf(offsets).doesNotHaveDuplicates());
        // ... also as the product reads the ledger (steps 1..n, contiguous), against the partitions' begin and end
        // offsets read from the broker: each record once, in one pass per partition, no segment beyond the end
        KdConfig config = new KdConfig(props);
        assertThat(LedgerCheck.assertEveryRecordOncePerEpoch(Ledger.read(ledgerFile),
                LedgerCheck.held(config, config.topics().teacherOutputs()), 1)).isEqualTo(350);
        assertThat(result.samples()).isEqualTo(350);
        RunManifest manifest = result.manifest();
        assertThat(manifest.getLedgerPath()).isEqualTo(ledgerFile.toAbsolutePath().toString());
        assertThat(manifest.getRanges()).allSatisfy(r -> assertThat(r.getEndOffset()).isEqualTo(175));
        assertThat(Files.readAllLines(ledgerFile)).hasSize((int) result.steps());

        // ... and replaying the ledger reproduces the model
        Replay.Outcome outcome = Replay.run(manifest, Map.of("bootstrap.servers", STACK.kafka().bootstrapServers(),
                "schema.registry.url", STACK.registry().url()), dir.resolve("replay"));
        assertThat(outcome.result().samples()).isEqualTo(350);
        assertThat(outcome.matches()).isTrue();
    }

    /** Every offset the ledger says was trained on, per partition, in ledger order (a repeat stays a repeat). */
    private static Map<Integer, List<Long>> trainedOffsets(Path ledger) throws Exception {
        Map<Integer, List<Long>> out = new TreeMap<>();
        for (String line : Files.readAllLines(ledger)) {
            for (String seg : line.substring(line.indexOf('\t') + 1).split(",")) {
                int partition = Integer.parseInt(seg.substring(0, seg.indexOf(':')));
                String range = seg.substring(seg.indexOf(':') + 1);
                long start = Long.parseLong(range.substring(0, range.indexOf('-')));
                long end = Long.parseLong(range.substring(range.indexOf('-') + 1));
                for (long o = start; o < end; o++) {
                    out.computeIfAbsent(partition, k -> new ArrayList<>()).add(o);
                }
            }
        }
        return out;
    }

    /** The offsets of the records the teacher-outputs topic holds, per partition, read from the topic itself. */
    private static Map<Integer, List<Long>> heldOffsets(Map<String, Object> props) {
        KdConfig config = new KdConfig(props);
        Map<Integer, List<Long>> out = new TreeMap<>();
        for (ConsumerRecord<byte[], byte[]> r : ItTopics.readRecords(config, config.topics().teacherOutputs())) {
            out.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r.offset());
        }
        return out;
    }

    /** Records covered by the ledger so far (every fixture record is valid, so offsets count samples). */
    private static long ledgerSamples(Path ledger) throws Exception {
        if (!Files.exists(ledger)) {
            return 0;
        }
        long n = 0;
        List<String> lines = Files.readAllLines(ledger);
        for (String line : lines) {
            for (String seg : line.substring(line.indexOf('\t') + 1).split(",")) {
                String range = seg.substring(seg.indexOf(':') + 1);
                n += Long.parseLong(range.substring(range.indexOf('-') + 1)) - Long.parseLong(range.substring(0, range.indexOf('-')));
            }
        }
        return n;
    }
}
