package io.kdstream.trainer;

import io.kdstream.avro.GroupStep;
import io.kdstream.avro.ModelSync;
import io.kdstream.avro.PartitionRange;
import io.kdstream.avro.RunManifest;
import io.kdstream.core.KdException;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.model.ModelStore;
import io.kdstream.core.model.SavedModel;
import io.kdstream.core.zoo.Architecture;
import io.kdstream.trainer.student.TorchScriptStudent;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.source.BatchSource;
import io.kdstream.trainer.source.LedgerReader;
import io.kdstream.trainer.group.ModelAverager;
import io.kdstream.trainer.group.ModelSyncCodec;
import io.kdstream.trainer.group.SyncLog;
import io.kdstream.trainer.source.TeacherOutputDecoder;
import io.kdstream.trainer.state.TrainingCore;
import io.kdstream.trainer.loop.TrainingLoop;
import io.kdstream.trainer.source.Cursor;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Re-trains a finished group run ({@code trainer.group.training=true}) in one process from the group's model-sync log:
 * every counted round in log order, every member's contribution to it re-trained from the round's starting parameters
 * on the steps the contribution records (step index and offset segments of each batch), with the optimizer state of
 * the member process it came from (its lineage), then averaged as the group did. Each contribution's and each
 * average's sha256 is checked against the log, so a divergence is reported at the first round and member where it
 * appears. On CPU with the same thread count the final model matches the group's bit for bit.
 *
 * <p>The model-sync log must still hold the run (it is kept for {@code kd.topics.retention.ms}, 7 days by default).
 */
final class GroupReplay {
    private static final Logger LOGGER = LoggerFactory.getLogger(GroupReplay.class);
    private static final Duration POLL = Duration.ofMillis(200);
    private static final long READ_TIMEOUT_MS = 120_000;

    /** A counted round, without its parameters. */
    private record Round(int generation, long round, int epoch, List<SyncLog.Contribution> contributions, String averageSha256) {
    }

    private GroupReplay() {
    }

    /** The offset segments of every member step of {@code rounds}, in the order the rounds applied them. */
    private static List<List<Batch.Segment>> ledgerSteps(List<Round> rounds) {
        List<List<Batch.Segment>> steps = new ArrayList<>();
        for (Round r : rounds) {
            for (SyncLog.Contribution c : r.contributions()) {
                for (GroupStep s : c.steps()) {
                    steps.add(s.getSegments().stream().map(g -> new Batch.Segment(g.getPartition(), g.getStartOffset(),
                            g.getEndOffset())).toList());
                }
            }
        }
        return steps;
    }

    /**
     * Replays the group run of {@code manifest} with {@code config} (the manifest's training settings on this
     * connection), writing the model under {@code config.checkpointDir()}.
     */
    static Trainer.Result run(TrainerConfig config, RunManifest manifest) {
        long start = System.nanoTime();
        Architecture architecture = StudentArchitectures.resolve(config, config.topics().teacherOutputs(), false, () -> false);
        List<Round> rounds = readRounds(config, manifest);
        List<List<Batch.Segment>> steps = ledgerSteps(rounds);
        LOGGER.info("Replaying group {} (run {}): {} rounds, {} member steps, from {}", manifest.getGroup(),
                manifest.getRunId(), rounds.size(), steps.size(), config.topics().modelSync());
        TeacherOutputDecoder decoder = RecordDecoders.teacherOutputs(config, architecture, false);
        try (TrainingCore base = new TrainingCore(config, architecture);
             Schedule schedule = new Schedule(config, architecture, rounds, base.parameters());
             BatchSource reader = new LedgerReader(() -> KafkaClients.consumer(config, null, LedgerReader.CONSUMER_OVERRIDES),
                     config.topics().teacherOutputs(), steps, architecture.inputSize(), architecture.numClasses(), decoder,
                     config.prefetchBatches())) {
            // the loop over the ledger's batches; the schedule knows whose step each is, and ends contributions and rounds
            TrainingLoop.Progress progress = new TrainingLoop.Progress(0, 0, 0, Cursor.NONE);
            new TrainingLoop(reader, schedule::step, 0, () -> false, List.of(schedule)).run(progress);
            // the reader ends on its own after the last step: its consumer then closes undisturbed
            if (!schedule.finished()) {
                throw new KdException("The teacher-outputs topic ran out of records before the replay's last step");
            }
            base.loadParameters(ModelAverager.unflatten(schedule.current, schedule.initial));
            Path modelDir = config.checkpointDir().resolve(Trainer.MODEL_DIR);
            SavedModel saved = ModelStore.saveTo(modelDir, base.block(), ModelMetadata.draft(architecture, ModelStore.PARAMETERS_FILE));
            TorchScriptStudent.exportInto(architecture, base.block(), modelDir);
            String sha = saved.metadata().parametersSha256();
            LOGGER.info("Group replay of run {} finished: {} rounds, {} steps over {} lineages, model sha256 {}{}",
                    manifest.getRunId(), rounds.size(), progress.steps(), schedule.lineages.size(), sha,
                    schedule.divergence == null ? "" : "; first divergence: " + schedule.divergence);
            long nanos = System.nanoTime() - start;
            return new Trainer.Result(config.runId(), true, sha, modelDir, progress.steps(), schedule.samples,
                    progress.failedSteps(), 0, null, null, new Trainer.Timings(0, 0, 0, 0, 0, -1, nanos, nanos),
                    decoder.skippedUnlabelled());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KdException("The replay of group run " + manifest.getRunId() + " was interrupted", e);
        }
    }

    /**
     * Where the replay stands in the group's log: the round and contribution whose step comes next. A contribution
     * starts from the round's starting parameters on the model of its lineage; once its steps are taken its parameters
     * are checked against the log, and once a round's contributions are, their average is. Contributions without a
     * step (a member with nothing left to train) are ended as soon as they are reached.
     */
    private static final class Schedule implements TrainingLoop.Hook, AutoCloseable {
        private final TrainerConfig config;
        private final Architecture architecture;
        private final List<Round> rounds;
        private final Map<String, float[]> initial;
        private final Map<String, TrainingCore> lineages = new LinkedHashMap<>();
        private final List<ModelAverager.Contribution> parts = new ArrayList<>();
        private float[] current;
        private int round;
        private int contribution;
        private int step;
        private TrainingCore core;
        private long samples;
        private String divergence;

        Schedule(TrainerConfig config, Architecture architecture, List<Round> rounds, Map<String, float[]> initial) {
            this.config = config;
            this.architecture = architecture;
            this.rounds = rounds;
            this.initial = initial;
            this.current = ModelAverager.flatten(initial);
            startContribution();
            settle();
        }

        boolean finished() {
            return round >= rounds.size();
        }

        /** Trains the next step of the current contribution, with the member's own step index. */
        TrainingCore.StepOutcome step(Batch batch, long index) {
            if (finished()) {
                throw new KdException("The replay read more batches than the model-sync log has steps");
            }
            SyncLog.Contribution c = rounds.get(round).contributions().get(contribution);
            return core.step(batch, c.steps().get(step).getStep());
        }

        @Override
        public void afterStep(TrainingLoop.Progress progress, Batch batch, TrainingCore.StepOutcome outcome) {
            step++;
            settle();
        }

        /** Loads the round's starting parameters into the model of the current contribution's lineage. */
        private void startContribution() {
            step = 0;
            List<SyncLog.Contribution> cs = rounds.get(round).contributions();
            if (contribution < cs.size()) {
                core = lineages.computeIfAbsent(cs.get(contribution).lineage(), l -> new TrainingCore(config, architecture));
                core.loadParameters(ModelAverager.unflatten(current, initial));
            }
        }

        /**
         * Ends the contributions whose steps are all taken and the rounds whose contributions are, up to the next
         * step to take (or the end of the log).
         */
        private void settle() {
            while (!finished()) {
                Round r = rounds.get(round);
                if (contribution < r.contributions().size()) {
                    SyncLog.Contribution c = r.contributions().get(contribution);
                    if (step < c.steps().size()) {
                        return;
                    }
                    endContribution(r, c);
                    contribution++;
                } else {
                    endRound(r);
                    round++;
                    contribution = 0;
                    if (finished()) {
                        return;
                    }
                }
                startContribution();
            }
        }

        /** Checks the re-trained parameters of {@code c} against the log and keeps them for the round's average. */
        private void endContribution(Round r, SyncLog.Contribution c) {
            float[] trained = ModelAverager.flatten(core.parameters());
            if (divergence == null && !ModelSyncCodec.sha256Hex(ModelSyncCodec.toBytes(trained)).equals(c.payloadSha256())) {
                divergence = "round " + r.round() + " (generation " + r.generation() + ", epoch " + r.epoch()
                        + "), member " + c.memberId() + ": its re-trained parameters differ from its contribution";
                LOGGER.warn("Group replay diverges at {}", divergence);
            }
            parts.add(new ModelAverager.Contribution(c.memberId(), c.samples(), trained));
            samples += c.samples();
        }

        /** Averages the round's contributions and checks the average against the log. */
        private void endRound(Round r) {
            current = ModelAverager.average(parts);
            parts.clear();
            if (divergence == null && !ModelSyncCodec.sha256Hex(ModelSyncCodec.toBytes(current)).equals(r.averageSha256())) {
                divergence = "round " + r.round() + ": the average differs from the group's";
                LOGGER.warn("Group replay diverges at {}", divergence);
            }
            int done = round + 1;
            if (done % Math.max(1, rounds.size() / 10) == 0 || done == rounds.size()) {
                LOGGER.info("Group replay: {} of {} rounds", done, rounds.size());
            }
        }

        @Override
        public void close() {
            lineages.values().forEach(TrainingCore::close);
        }
    }

    /** The counted rounds of the manifest's group, from the model-sync log, up to the one that finished the run. */
    private static List<Round> readRounds(TrainerConfig config, RunManifest manifest) {
        String group = manifest.getGroup();
        String topic = config.topics().modelSync();
        Deserializer<ModelSync> deserializer = KdAvroSerdes.value(ModelSync.class, config.serdeProperties()).deserializer();
        SyncLog log = new SyncLog(group);
        List<Round> rounds = new ArrayList<>();
        boolean complete = false;
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
            TopicPartition tp = GroupSync.partitionOf(consumer, topic, group);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long begin = consumer.position(tp);
            if (begin > 0) {
                throw new KdException("The model-sync log " + tp + " no longer starts at offset 0 (retention removed "
                        + begin + " records): a group run can be replayed only while its whole log is kept.");
            }
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            long deadline = System.currentTimeMillis() + READ_TIMEOUT_MS;
            outer:
            while (consumer.position(tp) < end) {
                if (System.currentTimeMillis() > deadline) {
                    throw new KdException("Timed out reading the model-sync log " + tp);
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
                    if (r.offset() >= end) {
                        break;
                    }
                    log.add(deserializer.deserialize(topic, r.value()));
                    for (SyncLog.State s : log.drainCompleted()) {
                        rounds.add(new Round(s.generation(), s.round(), s.epoch(), s.contributions(),
                                ModelSyncCodec.sha256Hex(ModelSyncCodec.toBytes(s.parameters()))));
                        if (finished(s, manifest, config.epochs())) {
                            complete = true;
                            break outer;
                        }
                    }
                }
            }
        }
        if (rounds.isEmpty()) {
            throw new KdException("The model-sync log " + topic + " holds no completed round of group " + group
                    + " (run " + manifest.getRunId() + ")");
        }
        Round last = rounds.get(rounds.size() - 1);
        if (!complete) {
            throw new KdException("The model-sync log of group " + group + " ends at round " + last.round() + " in epoch "
                    + (last.epoch() + 1) + " of " + config.epochs() + ": the run's end is missing");
        }
        return rounds;
    }

    private static boolean finished(SyncLog.State s, RunManifest manifest, int epochs) {
        if (s.epoch() + 1 < epochs) {
            return false;
        }
        for (PartitionRange r : manifest.getRanges()) {
            if (s.next().getOrDefault(r.getPartition(), r.getStartOffset()) < r.getEndOffset()) {
                return false;
            }
        }
        return true;
    }
}
