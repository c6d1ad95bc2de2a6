package io.kdstream.it;

import io.kdstream.avro.ModelSync;
import io.kdstream.avro.ModelSyncKind;
import io.kdstream.avro.PartitionRange;
import io.kdstream.avro.RunManifest;
import io.kdstream.avro.TrainingStep;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.it.support.ChildJvm;
import io.kdstream.it.support.ItTopics;
import io.kdstream.it.support.KafkaTestCluster;
import io.kdstream.it.support.LedgerCheck;
import io.kdstream.it.support.TestRegistry;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.trainer.Replay;
import io.kdstream.trainer.RunManifests;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;
import io.kdstream.trainer.group.ModelSyncCodec;
import io.kdstream.trainer.group.SortedRoundRobinAssignor;
import io.kdstream.trainer.group.SyncLog;
import io.kdstream.trainer.run.Ledger;
import io.kdstream.trainer.source.Batch;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
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
import java.util.NavigableSet;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Two trainer processes in one group split a 4-partition topic, average their parameters every K steps through the
 * model-sync topic, hold the same parameters after every round, and together train every record exactly once, also
 * when one of them is killed hard mid-round.
 */
class GroupTrainingIT {
    private static final int PARTITIONS = 4;
    private static final Pattern ROUND = Pattern.compile("generation (\\d+) round (\\d+): (\\d+) members.*parameters sha256 ([0-9a-f]{64})");

    private static final List<Process> PROCESSES = new ArrayList<>();

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
        PROCESSES.forEach(Process::destroyForcibly);
        if (registry != null) {
            registry.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    @AfterEach
    void killLeftovers() throws InterruptedException {
        for (Process p : PROCESSES) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        PROCESSES.clear();
    }

    /** Process logs go under target/group-it/PREFIX, kept after the run for post-mortems. */
    private static Path logs(String prefix) throws IOException {
        Path dir = Path.of("target", "group-it", prefix);
        Files.createDirectories(dir);
        return dir;
    }

    private static Map<String, Object> groupProps(String prefix, Path dir) {
        Map<String, Object> p = TrainerIT.Fixtures.props(kafka, registry, prefix, dir);
        p.put(KdConfig.TOPICS_PARTITIONS_CONFIG, String.valueOf(PARTITIONS));
        p.put(TrainerConfig.GROUP_TRAINING_CONFIG, "true");
        p.put(TrainerConfig.GROUP_SYNC_INTERVAL_CONFIG, "3");
        p.put(TrainerConfig.GROUP_SYNC_TIMEOUT_CONFIG, "30000");
        p.put(TrainerConfig.GROUP_SYNC_CHUNK_BYTES_CONFIG, "65536");
        p.put(TrainerConfig.GROUP_MIN_MEMBERS_CONFIG, "2");
        p.put(TrainerConfig.EPOCHS_CONFIG, "1");
        p.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "0");
        p.put("session.timeout.ms", "6000");
        p.put("heartbeat.interval.ms", "500");
        return p;
    }

    @Test
    void shouldTrainEveryRecordOncePerEpochWithIdenticalParametersAfterEachRoundAndReplayBitForBit(@TempDir Path dir)
            throws Exception {
        // Given 1600 teacher outputs on 4 partitions and two trainer processes in one group, for two epochs
        Map<String, Object> base = groupProps("group", dir);
        base.put(TrainerConfig.EPOCHS_CONFIG, "2");
        TrainerIT.Fixtures.createTopics(base);
        endOffsets(base); // answered by the partition leaders once they can take appends
        TrainerIT.Fixtures.produce(base, 0, 1600, TrainerIT.Fixtures::valid);
        Path a = member(base, dir, "a");
        Path b = member(base, dir, "b");
        Path logs = logs("group");

        // When both run to the end of the range
        Process pa = launch(a, logs.resolve("a.log"));
        Process pb = launch(b, logs.resolve("b.log"));
        assertThat(pa.waitFor(90, TimeUnit.SECONDS)).as("member a finished").isTrue();
        assertThat(pb.waitFor(60, TimeUnit.SECONDS)).as("member b finished").isTrue();
        String logA = Files.readString(logs.resolve("a.log"));
        String logB = Files.readString(logs.resolve("b.log"));
        assertThat(pa.exitValue()).as(logA).isZero();
        assertThat(pb.exitValue()).as(logB).isZero();

        // Then after every round both hold the same parameters, and so end with the same model
        Map<Long, String> roundsA = rounds(logA);
        Map<Long, String> roundsB = rounds(logB);
        assertThat(roundsA.keySet()).as("rounds both took part in").containsAll(roundsB.keySet()).hasSizeGreaterThan(3);
        roundsB.forEach((round, sha) -> assertThat(roundsA.get(round)).as("parameters after round " + round).isEqualTo(sha));
        assertThat(modelSha(logA)).isNotNull().isEqualTo(modelSha(logB));

        // ... and together they trained every record exactly once per epoch: each member's group ledger says so, and
        // they agree
        Path ledgerA = dir.resolve("a").resolve(Trainer.LEDGER_FILE);
        Path ledgerB = dir.resolve("b").resolve(Trainer.LEDGER_FILE);
        assertExactlyOnce(endOffsets(base), ledgerCounts(ledgerA), 2);
        KdConfig config = new KdConfig(base);
        // (and once in each epoch, not twice in one and never in the other: the ledger in two passes per partition)
        LedgerCheck.assertEveryRecordOncePerEpoch(Ledger.read(ledgerA),
                LedgerCheck.held(config, config.topics().teacherOutputs()), 2);
        assertThat(Files.readAllLines(ledgerB)).isEqualTo(Files.readAllLines(ledgerA));
        assertThat(logA).contains("partitions [0, 2]").contains("epoch 1 of 2 done");
        assertThat(logB).contains("partitions [1, 3]");

        // ... and a replay from the model-sync log re-trains the same model, bit for bit
        assertReplayMatches(dir, "a", base, modelSha(logA));
    }

    @Test
    void shouldFinishWithEveryRecordTrainedOnceWhenAMemberIsKilledMidRound(@TempDir Path dir) throws Exception {
        // Given 2400 teacher outputs and two trainer processes in one group
        Map<String, Object> base = groupProps("groupkill", dir);
        TrainerIT.Fixtures.createTopics(base);
        endOffsets(base);
        TrainerIT.Fixtures.produce(base, 0, 2400, TrainerIT.Fixtures::valid);
        Path a = member(base, dir, "a");
        Path b = member(base, dir, "b");
        Path logs = logs("groupkill");
        Process pa = launch(a, logs.resolve("a.log"));
        Process pb = launch(b, logs.resolve("b.log"));

        // When b is killed (SIGKILL) once it has completed two rounds, inside a round: it has trained (and published)
        // steps it has not contributed yet (it is frozen to look, and killed frozen)
        awaitRounds(pb, logs.resolve("b.log"), 2);
        NavigableSet<Long> open = freezeMidRound(base, pb, "b");
        pb.destroyForcibly();
        assertThat(pb.waitFor(30, TimeUnit.SECONDS)).isTrue();

        // Then the survivor takes over b's partitions and finishes the run
        assertThat(pa.waitFor(90, TimeUnit.SECONDS)).as("survivor finished").isTrue();
        String logA = Files.readString(logs.resolve("a.log"));
        String logB = Files.readString(logs.resolve("b.log"));
        assertThat(pa.exitValue()).as(logA).isZero();
        assertThat(logB).doesNotContain("model-sha256:");
        assertThat(logA).containsPattern("generation \\d+: member 1 of 1 .*partitions \\[0, 1, 2, 3\\]");
        assertThat(modelSha(logA)).isNotNull();
        Map<Long, String> roundsA = rounds(logA);
        rounds(logB).forEach((round, sha) -> assertThat(roundsA.get(round)).as("parameters after round " + round).isEqualTo(sha));

        // ... and every record counts exactly once in the group's ledger, including those the killed member trained
        // in its averaged rounds, and those it trained after them, which the survivor trained again
        assertExactlyOnce(endOffsets(base), ledgerCounts(dir.resolve("a").resolve(Trainer.LEDGER_FILE)));

        // ... and the model-sync log shows the kill landed mid-round: b's contributions counted in at least two rounds,
        // the steps it trained after its last one never counted; a abandoned the round b left open (its generation's
        // next round), and completed that round alone in a later generation, taking b's partitions up where b's last
        // counted contribution had left them; every later round is a's alone
        SyncHistory history = syncHistory(base);
        assertThat(open).as("steps b trained in the round it was killed in").isNotEmpty();
        assertThat(history.countedSteps("b")).as("b's counted steps").isNotEmpty().doesNotContainAnyElementsOf(open);
        List<SyncLog.State> withB = history.countedWith("b");
        assertThat(withB).as("rounds that counted a contribution of b").hasSizeGreaterThanOrEqualTo(2);
        SyncLog.State lastWithB = withB.get(withB.size() - 1);
        long openRound = lastWithB.round() + 1;
        assertThat(logA).contains("generation " + lastWithB.generation() + " round " + openRound + ": abandoned");
        List<SyncLog.State> after = history.completed().subList(history.completed().indexOf(lastWithB) + 1,
                history.completed().size());
        assertThat(after).as("rounds after b's last").isNotEmpty().allSatisfy(r -> assertThat(r.contributions())
                .allSatisfy(c -> assertThat(SyncHistory.of(c.lineage(), "a")).as(c.lineage()).isTrue()));
        SyncLog.State takeover = after.get(0);
        assertThat(takeover.round()).isEqualTo(openRound);
        assertThat(takeover.generation()).isGreaterThan(lastWithB.generation());
        List<PartitionRange> bTrained = lastWithB.trained().entrySet().stream()
                .filter(e -> lastWithB.contributions().stream().anyMatch(c -> c.memberId().equals(e.getKey())
                        && SyncHistory.of(c.lineage(), "b")))
                .flatMap(e -> e.getValue().stream()).toList();
        Map<Integer, Long> takeoverStarts = new TreeMap<>();
        takeover.trained().values().forEach(rs -> rs.forEach(r -> takeoverStarts.put(r.getPartition(), r.getStartOffset())));
        assertThat(bTrained).as("b's partitions").hasSize(2).allSatisfy(r -> assertThat(takeoverStarts.get(r.getPartition()))
                .as("where a took partition " + r.getPartition() + " up").isEqualTo(r.getEndOffset()));

        // ... and the replay re-trains the same model from the log, the killed member's counted rounds included
        assertReplayMatches(dir, "a", base, modelSha(logA));
    }

    @Test
    void shouldLetAFrozenMemberRejoinWithoutCountingItsStaleRound(@TempDir Path dir) throws Exception {
        // Given 4800 teacher outputs and two trainer processes in one group
        Map<String, Object> base = groupProps("groupfreeze", dir);
        TrainerIT.Fixtures.createTopics(base);
        endOffsets(base);
        TrainerIT.Fixtures.produce(base, 0, 4800, TrainerIT.Fixtures::valid);
        Path a = member(base, dir, "a");
        Path b = member(base, dir, "b");
        Path logs = logs("groupfreeze");
        Process pa = launch(a, logs.resolve("a.log"));
        Process pb = launch(b, logs.resolve("b.log"));

        // When b is frozen (SIGSTOP: no heartbeats, no progress) after two rounds, inside a round (it has trained steps
        // it has not contributed yet), until the group dropped it, then thawed
        awaitRounds(pb, logs.resolve("b.log"), 2);
        NavigableSet<Long> stale = freezeMidRound(base, pb, "b");
        long deadline = System.currentTimeMillis() + 60_000;
        Pattern alone = Pattern.compile("generation \\d+: member 1 of 1 ");
        while (!alone.matcher(Files.readString(logs.resolve("a.log"))).find()) {
            assertThat(System.currentTimeMillis()).as("a went on alone").isLessThan(deadline);
            Thread.sleep(20);
        }
        signal("CONT", pb);

        // Then both finish with the same model, and the group ledger names every record exactly once
        assertThat(pa.waitFor(90, TimeUnit.SECONDS)).as("a finished").isTrue();
        assertThat(pb.waitFor(60, TimeUnit.SECONDS)).as("b finished").isTrue();
        String logA = Files.readString(logs.resolve("a.log"));
        String logB = Files.readString(logs.resolve("b.log"));
        assertThat(pa.exitValue()).as(logA).isZero();
        assertThat(pb.exitValue()).as(logB).isZero();
        assertThat(modelSha(logB)).isNotNull().isEqualTo(modelSha(logA));
        Map<Long, String> roundsA = rounds(logA);
        rounds(logB).forEach((round, sha) -> assertThat(roundsA.get(round)).as("parameters after round " + round).isEqualTo(sha));
        Path ledgerA = dir.resolve("a").resolve(Trainer.LEDGER_FILE);
        assertExactlyOnce(endOffsets(base), ledgerCounts(ledgerA));
        assertThat(Files.readAllLines(dir.resolve("b").resolve(Trainer.LEDGER_FILE))).isEqualTo(Files.readAllLines(ledgerA));

        // ... and the model-sync log shows b's round was stale and never counted: b's contributions counted in at least
        // two rounds before the freeze, never the steps it had trained in the round it was frozen in; the round after
        // its last counted one was completed by a alone in a later generation (the group had dropped b), and b, thawed,
        // joined a generation after that one
        SyncHistory history = syncHistory(base);
        assertThat(stale).as("steps b trained in the round it was frozen in").isNotEmpty();
        assertThat(history.countedSteps("b")).as("b's counted steps").doesNotContainAnyElementsOf(stale);
        List<SyncLog.State> beforeFreeze = history.countedWith("b").stream()
                .filter(r -> r.contributions().stream().anyMatch(c -> SyncHistory.of(c.lineage(), "b")
                        && c.steps().stream().allMatch(g -> g.getStep() + 1 < stale.first())))
                .toList();
        assertThat(beforeFreeze).as("rounds that counted b's contributions before the freeze").hasSizeGreaterThanOrEqualTo(2);
        SyncLog.State lastBefore = beforeFreeze.get(beforeFreeze.size() - 1);
        SyncLog.State next = history.completed().get(history.completed().indexOf(lastBefore) + 1);
        assertThat(next.round()).isEqualTo(lastBefore.round() + 1);
        assertThat(next.generation()).as("generation of the round after b's last counted one").isGreaterThan(lastBefore.generation());
        assertThat(next.contributions()).as("contributions to round " + next.round())
                .singleElement().satisfies(c -> assertThat(SyncHistory.of(c.lineage(), "a")).as(c.lineage()).isTrue());
        assertThat(history.joins("b")).as("generations b joined").anyMatch(g -> g > next.generation());

        // ... and the replay matches: b's steps of the round that did not count were rolled back, as the log says
        assertReplayMatches(dir, "b", base, modelSha(logB));
    }

    @Test
    void shouldForceRebalancesWhileAMemberNeverContributesAndRecoverToTrainEveryRecordOnceWhenItLeaves(@TempDir Path dir)
            throws Exception {
        // Given a trainer and a straggler: a member of the same consumer group that stays alive but never contributes
        Map<String, Object> base = groupProps("groupslow", dir);
        base.put(TrainerConfig.GROUP_SYNC_TIMEOUT_CONFIG, "2000");
        TrainerIT.Fixtures.createTopics(base);
        endOffsets(base);
        TrainerIT.Fixtures.produce(base, 0, 1600, TrainerIT.Fixtures::valid);
        KdConfig config = new KdConfig(base);
        Map<String, Object> overrides = Map.of(
                "group.protocol", "classic",
                "partition.assignment.strategy", SortedRoundRobinAssignor.class.getName(),
                "client.id", "straggler");
        java.util.concurrent.atomic.AtomicBoolean leave = new java.util.concurrent.atomic.AtomicBoolean();
        Thread straggler = new Thread(() -> {
            try (Consumer<byte[], byte[]> c = KafkaClients.consumer(config, base.get(TrainerConfig.GROUP_CONFIG).toString(), overrides)) {
                c.subscribe(List.of(config.topics().teacherOutputs()));
                while (!leave.get()) {
                    c.poll(Duration.ofMillis(100)); // heartbeats and rebalances, no training, no contribution
                }
            }
        }, "straggler");
        straggler.start();
        Path logs = logs("groupslow");

        // When the trainer's rounds wait for it past trainer.group.sync.timeout.ms, and it finally leaves
        Process pa = launch(member(base, dir, "a"), logs.resolve("a.log"));
        long deadline = System.currentTimeMillis() + 60_000;
        while (!Files.readString(logs.resolve("a.log")).contains("forcing a rebalance")) {
            assertThat(System.currentTimeMillis()).as("the trainer gave up waiting").isLessThan(deadline);
            assertThat(pa.isAlive()).as(Files.readString(logs.resolve("a.log"))).isTrue();
            Thread.sleep(50);
        }
        Thread.sleep(3_000);
        // (while the straggler stays, the group is held up: no round has completed, and the trainer never went on alone)
        String beforeLeaving = Files.readString(logs.resolve("a.log"));
        assertThat(pa.isAlive()).as(beforeLeaving).isTrue();
        assertThat(rounds(beforeLeaving)).as("rounds completed while the straggler was in the group").isEmpty();
        assertThat(beforeLeaving).doesNotContainPattern("generation \\d+: member 1 of 1 ");
        leave.set(true);
        straggler.join(30_000);

        // Then the trainer gave up on the straggler's round (a forced rebalance, the round abandoned), went on alone
        // once the straggler left, and trained every record exactly once
        assertThat(pa.waitFor(60, TimeUnit.SECONDS)).as("trainer finished").isTrue();
        String logA = Files.readString(logs.resolve("a.log"));
        assertThat(pa.exitValue()).as(logA).isZero();
        assertThat(logA).contains("abandoned").containsPattern("generation \\d+: member 1 of 1 ");
        assertExactlyOnce(endOffsets(base), ledgerCounts(dir.resolve("a").resolve(Trainer.LEDGER_FILE)));
        // ... every round it completed, it completed alone, after the straggler left
        Matcher completedRound = ROUND.matcher(logA);
        int completedRounds = 0;
        while (completedRound.find()) {
            assertThat(completedRound.group(3)).as("members of " + completedRound.group()).isEqualTo("1");
            completedRounds++;
        }
        assertThat(completedRounds).isPositive();
    }

    /** Replays member {@code name}'s run from its manifest in this JVM and checks the model sha256. */
    private static void assertReplayMatches(Path dir, String name, Map<String, Object> base, String expectedSha) {
        RunManifest manifest = RunManifests.read(dir.resolve(name).resolve(Trainer.MODEL_DIR).resolve(RunManifests.FILE));
        assertThat(manifest.getFinalModelSha256()).isEqualTo(expectedSha);
        Replay.Outcome outcome = Replay.run(manifest, base, dir.resolve("replay-" + name));
        assertThat(outcome.result().modelSha256()).as("replayed model of group run " + manifest.getRunId())
                .isEqualTo(expectedSha);
        assertThat(outcome.matches()).isTrue();
    }

    /** Waits up to a minute until the member logging to {@code log} has completed {@code n} rounds. */
    private static void awaitRounds(Process member, Path log, int n) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        while (rounds(Files.readString(log)).size() < n) {
            assertThat(System.currentTimeMillis()).as(log.getFileName() + " completed " + n + " rounds").isLessThan(deadline);
            assertThat(member.isAlive()).as(Files.readString(log)).isTrue();
            Thread.sleep(20);
        }
    }

    private static void signal(String name, Process process) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
        assertThat(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0).as("kill -" + name).isTrue();
    }

    /**
     * Every offset of every partition appears in exactly one ledger entry. The ends are read from the broker: the
     * fixture resends records whose acknowledgement timed out, so a busy broker can hold a few more than produced.
     */
    private static void assertExactlyOnce(Map<Integer, Long> ends, Map<Integer, Map<Long, Integer>> total) {
        assertExactlyOnce(ends, total, 1);
    }

    private static void assertExactlyOnce(Map<Integer, Long> ends, Map<Integer, Map<Long, Integer>> total, int epochs) {
        assertThat(total.keySet()).containsExactly(0, 1, 2, 3);
        for (int p = 0; p < PARTITIONS; p++) {
            Map<Long, Integer> offsets = total.get(p);
            assertThat(offsets).as("partition " + p + " offsets").hasSize(ends.get(p).intValue());
            for (long o = 0; o < ends.get(p); o++) {
                assertThat(offsets.get(o)).as("times offset " + p + ":" + o + " was trained").isEqualTo(epochs);
            }
        }
    }

    private static Map<Integer, Long> endOffsets(Map<String, Object> props) {
        KdConfig config = new KdConfig(props);
        String topic = config.topics().teacherOutputs();
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < PARTITIONS; p++) {
                tps.add(new TopicPartition(topic, p));
            }
            Map<Integer, Long> out = new TreeMap<>();
            consumer.endOffsets(tps, Duration.ofSeconds(30)).forEach((tp, end) -> out.put(tp.partition(), end));
            return out;
        }
    }

    private static Map<Integer, Map<Long, Integer>> ledgerCounts(Path ledger) {
        Map<Integer, Map<Long, Integer>> out = new TreeMap<>();
        if (!Files.exists(ledger)) {
            return out;
        }
        for (List<Batch.Segment> step : Ledger.read(ledger)) {
            for (Batch.Segment s : step) {
                for (long o = s.start(); o < s.end(); o++) {
                    out.computeIfAbsent(s.partition(), k -> new TreeMap<>()).merge(o, 1, Integer::sum);
                }
            }
        }
        return out;
    }

    /**
     * The group's model-sync log as the topic holds it, read back after the fact: every whole message in log order,
     * and the rounds the log completed (derived by the product's {@link SyncLog}, as every member derives them).
     */
    private record SyncHistory(List<ModelSyncCodec.Message> messages, List<SyncLog.State> completed) {

        /** Whether {@code id} (a lineage or member id) is of the process started as run {@code group-NAME}. */
        static boolean of(String id, String name) {
            return id.startsWith("kd-group-group-" + name + "-"); // GroupTrainer's client id: kd-group-RUN_ID-RANDOM
        }

        /** Steps (as numbered in the member's TrainingStep records, from 1) of every contribution the member sent. */
        NavigableSet<Long> contributedSteps(String name) {
            NavigableSet<Long> out = new TreeSet<>();
            for (ModelSyncCodec.Message m : messages) {
                if (m.kind() == ModelSyncKind.CONTRIBUTION && of(m.lineage(), name)) {
                    m.steps().forEach(g -> out.add(g.getStep() + 1));
                }
            }
            return out;
        }

        /** Steps of the member's contributions that a completed round counted. */
        NavigableSet<Long> countedSteps(String name) {
            NavigableSet<Long> out = new TreeSet<>();
            for (SyncLog.State round : completed) {
                for (SyncLog.Contribution c : round.contributions()) {
                    if (of(c.lineage(), name)) {
                        c.steps().forEach(g -> out.add(g.getStep() + 1));
                    }
                }
            }
            return out;
        }

        /** The completed rounds that counted a contribution of the member, in log order. */
        List<SyncLog.State> countedWith(String name) {
            return completed.stream().filter(r -> r.contributions().stream().anyMatch(c -> of(c.lineage(), name))).toList();
        }

        /** Generations the member announced a join for (JOIN markers), in log order. */
        List<Integer> joins(String name) {
            return messages.stream().filter(m -> m.kind() == ModelSyncKind.JOIN && of(m.memberId(), name))
                    .map(ModelSyncCodec.Message::generation).toList();
        }
    }

    private static SyncHistory syncHistory(Map<String, Object> base) {
        KdConfig config = new KdConfig(base);
        String group = base.get(TrainerConfig.GROUP_CONFIG).toString();
        String topic = config.topics().modelSync();
        var deserializer = KdAvroSerdes.value(ModelSync.class, config.serdeProperties()).deserializer();
        SyncLog log = new SyncLog(group);
        ModelSyncCodec.Assembler assembler = new ModelSyncCodec.Assembler();
        List<ModelSyncCodec.Message> messages = new ArrayList<>();
        List<SyncLog.State> completed = new ArrayList<>();
        // a group's records are on one partition, so partition-then-offset order is log order
        for (ConsumerRecord<byte[], byte[]> r : ItTopics.readRecords(config, topic)) {
            ModelSync chunk = deserializer.deserialize(topic, r.value());
            if (!group.equals(chunk.getGroup())) {
                continue;
            }
            log.add(chunk);
            assembler.add(chunk).ifPresent(messages::add);
            completed.addAll(log.drainCompleted());
        }
        return new SyncHistory(messages, completed);
    }

    /** The steps run {@code group-NAME} published on the metrics topic (TrainingStep records), from 1. */
    private static NavigableSet<Long> publishedSteps(Map<String, Object> base, String name) {
        KdConfig config = new KdConfig(base);
        NavigableSet<Long> out = new TreeSet<>();
        for (TrainingStep s : ItTopics.readAll(config, config.topics().metrics(), TrainingStep.class)) {
            if (("group-" + name).equals(s.getRunId())) {
                out.add(s.getStep());
            }
        }
        return out;
    }

    /**
     * Freezes (SIGSTOP) the member at a moment it is inside a round: it has published steps (TrainingStep records on
     * the metrics topic) beyond every contribution it sent to the model-sync log. A frozen process sends nothing more,
     * so what the two topics hold then is what it had done. Where it is between rounds, it is thawed and frozen again
     * a few milliseconds later. Returns the steps it trained in the open round; the member stays frozen.
     */
    private static NavigableSet<Long> freezeMidRound(Map<String, Object> base, Process member, String name) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        java.util.Random random = new java.util.Random();
        for (int attempt = 1; ; attempt++) {
            signal("STOP", member);
            Thread.sleep(500); // what it sent before the signal reaches the log
            NavigableSet<Long> contributed = syncHistory(base).contributedSteps(name);
            NavigableSet<Long> open = new TreeSet<>(publishedSteps(base, name));
            open.removeAll(contributed);
            if (!contributed.isEmpty() && !open.isEmpty() && open.first() > contributed.last()) {
                System.out.printf("GroupTrainingIT: %s frozen inside a round at attempt %d: steps %s contributed, steps %s "
                        + "trained since%n", name, attempt, contributed, open);
                return open;
            }
            signal("CONT", member);
            assertThat(System.currentTimeMillis()).as(name + " frozen inside a round").isLessThan(deadline);
            assertThat(member.isAlive()).isTrue();
            Thread.sleep(5 + random.nextInt(40));
        }
    }

    /** Parameter sha256 after each round a member completed, by round. */
    private static Map<Long, String> rounds(String log) {
        Map<Long, String> out = new TreeMap<>();
        Matcher m = ROUND.matcher(log);
        while (m.find()) {
            out.put(Long.parseLong(m.group(2)), m.group(4));
        }
        return out;
    }

    private static String modelSha(String log) {
        Matcher m = Pattern.compile("model-sha256: ([0-9a-f]{64})").matcher(log);
        return m.find() ? m.group(1) : null;
    }

    private static Path member(Map<String, Object> base, Path dir, String name) throws IOException {
        Map<String, Object> props = new HashMap<>(base);
        props.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, dir.resolve(name).toString());
        props.put(TrainerConfig.TRAINER_ID_CONFIG, name);
        props.put(TrainerConfig.RUN_ID_CONFIG, "group-" + name);
        Path file = dir.resolve(name + ".properties");
        Properties p = new Properties();
        props.forEach((k, v) -> p.setProperty(k, String.valueOf(v)));
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            p.store(w, "group training member " + name);
        }
        return file;
    }

    private static Process launch(Path properties, Path log) throws IOException {
        Process process = ChildJvm.trainer(properties, log);
        PROCESSES.add(process);
        return process;
    }
}
