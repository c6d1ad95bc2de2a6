package io.kdstream.trainer;

import io.kdstream.avro.FailureKind;
import io.kdstream.trainer.loop.FailureHook;
import io.kdstream.trainer.loop.GroupSyncHook;
import io.kdstream.trainer.loop.StepRecordHook;
import io.kdstream.trainer.loop.TrainingLoop;
import io.kdstream.trainer.source.BatchSource;
import io.kdstream.trainer.source.Cursor;

import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.GroupStep;
import io.kdstream.avro.ModelSync;
import io.kdstream.avro.ModelSyncKind;
import io.kdstream.avro.PartitionRange;
import io.kdstream.avro.RunManifest;
import io.kdstream.avro.TrainingStep;
import io.kdstream.core.KdException;
import io.kdstream.core.kafka.DeadLetterPublisher;
import io.kdstream.core.kafka.FailureDisposition;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.model.ModelStore;
import io.kdstream.core.model.SavedModel;
import io.kdstream.core.zoo.Architecture;
import io.kdstream.trainer.student.TorchScriptStudent;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.source.BatchAssembler;
import io.kdstream.trainer.source.Example;
import io.kdstream.trainer.run.Ledger;
import io.kdstream.trainer.group.ModelSyncCodec;
import io.kdstream.trainer.group.SortedRoundRobinAssignor;
import io.kdstream.trainer.run.StepPublisher;
import io.kdstream.trainer.source.StreamShapeProbe;
import io.kdstream.trainer.group.SyncLog;
import io.kdstream.trainer.source.TeacherOutputDecoder;
import io.kdstream.trainer.state.TrainingCore;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.GroupProtocol;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.function.BooleanSupplier;

/**
 * One member of a trainer group ({@code trainer.group.training=true}): the consumer group {@code trainer.group} splits
 * the partitions of the teacher-outputs topic among the members; each trains its share in arrival order for
 * {@code K} local steps, sends its parameters to the model-sync topic, and, once every member of the generation has,
 * replaces its weights with the sample-weighted average (the same bits on every member). The model-sync log is the
 * group's checkpoint: after a rebalance each member restores the latest completed round and seeks its partitions to
 * that round's offsets, so records trained after it (by a member that died, or by anyone in the abandoned round) are
 * trained again by their new owner and each record counts once in the final model. The ledger
 * ({@code ledger.tsv}) is the group's: every member appends, for each round it reads complete in the log, one line
 * per member with the offset ranges that member's averaged contribution trained, so a member's file names every
 * record in the group model exactly once, whoever trained it and whether or not that member is still alive.
 */
final class GroupTrainer {
    /** Step records that may wait for the publishing thread before the training thread blocks. */
    private static final int STEP_QUEUE = 1024;

    private static final Logger LOGGER = LoggerFactory.getLogger(GroupTrainer.class);
    private static final Duration POLL = Duration.ofMillis(50);
    /** Generations a member may be behind the model-sync log and catch up by forcing rebalances. */
    private static final int MAX_GENERATION_GAP = 20;
    /** Polls while a round waits: short, so a completed round is noticed within a few milliseconds. */
    private static final Duration WAIT_POLL = Duration.ofMillis(5);

    private final TrainerConfig config;
    private final BooleanSupplier stopRequested;
    private final java.util.function.Consumer<TrainingStep> stepListener;

    private volatile boolean rebalanced;
    private volatile List<TopicPartition> assigned = List.of();

    GroupTrainer(TrainerConfig config, BooleanSupplier stopRequested,
                 java.util.function.Consumer<TrainingStep> stepListener) {
        this.config = config;
        this.stopRequested = stopRequested;
        this.stepListener = stepListener;
    }

    /** An item read from an owned partition: an example, or null for a dead-lettered record. */
    private record Item(int partition, long offset, Example example) {
    }

    Trainer.Result run() {
        long runStart = System.nanoTime();
        Architecture architecture = StudentArchitectures.resolve(config,
                () -> StreamShapeProbe.probe(config, config.topics().teacherOutputs(), false, stopRequested));
        String group = config.group();
        String runId = config.runId().isBlank() ? group + "-" + UUID.randomUUID().toString().substring(0, 8) : config.runId();
        Path dir = config.checkpointDir();
        Map<String, Object> serde = config.serdeProperties();
        Serializer<TrainingStep> stepSerializer = KdAvroSerdes.value(TrainingStep.class, serde).serializer();
        Serializer<ModelSync> syncSerializer = KdAvroSerdes.value(ModelSync.class, serde).serializer();
        Deserializer<ModelSync> syncDeserializer = KdAvroSerdes.value(ModelSync.class, serde).deserializer();
        Serializer<FailureEvent> failureSerializer = KdAvroSerdes.value(FailureEvent.class, serde).serializer();
        DeadLetterPublisher dlq = new DeadLetterPublisher(Trainer.COMPONENT, config.topics().dlq(), failureSerializer);
        String topic = config.topics().teacherOutputs();
        String syncTopic = config.topics().modelSync();
        String clientId = "kd-group-" + runId + "-" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, Object> overrides = new HashMap<>();
        overrides.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        overrides.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, GroupProtocol.CLASSIC.name().toLowerCase(java.util.Locale.ROOT));
        overrides.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, SortedRoundRobinAssignor.class.getName());
        overrides.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500);
        if (!config.clientProperties().containsKey(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG)) {
            overrides.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
            overrides.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1_000);
        }
        TeacherOutputDecoder decoder = RecordDecoders.teacherOutputs(config, architecture, false);

        try (Producer<byte[], byte[]> producer = KafkaClients.producer(config, "kd-trainer-" + runId, Map.of());
             StepPublisher<TrainingStep> stepPublisher = new StepPublisher<>(producer, stepSerializer,
                     config.topics().metrics(), STEP_QUEUE, "kd-steps-" + runId);
             TrainingCore core = new TrainingCore(config, architecture);
             Consumer<byte[], byte[]> data = KafkaClients.consumer(config, group, overrides);
             Consumer<byte[], byte[]> sync = KafkaClients.consumer(config, null, Map.of());
             Ledger ledger = freshLedger(dir.resolve(Trainer.LEDGER_FILE).toAbsolutePath())) {
            Map<String, float[]> initial = core.parameters();
            Trainer.Evaluation evaluation = new Trainer.Evaluation(config, core);
            Serializer<io.kdstream.avro.EvalResult> evalSerializer = KdAvroSerdes.value(io.kdstream.avro.EvalResult.class, serde)
                    .serializer();
            long lastEval = 0;
            Map<Integer, long[]> ranges = snapshot(data, topic);
            TopicPartition syncTp = syncPartition(sync, syncTopic, group);
            RunManifest.Builder manifest = manifest(runId, architecture, ranges, topic);
            Serializer<RunManifest> manifestSerializer = KdAvroSerdes.value(RunManifest.class, serde).serializer();
            send(producer, config.topics().runs(), runId, manifestSerializer.serialize(config.topics().runs(), manifest.build()));
            sync.assign(List.of(syncTp));
            sync.seekToBeginning(List.of(syncTp));
            SyncLog log = new SyncLog(group);
            Lineage lineage = new Lineage(clientId, core);
            long[] ledgerLines = {0};
            StepRecordHook.Identity identity = new StepRecordHook.Identity(runId, config.trainerId(), group);
            data.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    rebalanced = true;
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    rebalanced = true;
                    assigned = partitions.stream().sorted(java.util.Comparator.comparingInt(TopicPartition::partition)).toList();
                    data.pause(partitions); // nothing is fetched before the partitions are sought to the group state
                }
            });
            LOGGER.info("Group {} member run {} starting: student={} topic={} ranges={} K={}", group, runId, architecture.name(),
                    topic, describe(ranges), config.groupSyncIntervalSteps());

            long steps = 0;
            long failedSteps = 0;
            long fbNanos = 0;
            long optNanos = 0;
            long dataWaitNanos = 0; // filling a batch
            long roundWaitNanos = 0; // waiting for the other members' contributions
            long syncNanos = 0; // contributing and taking the average: flatten, send, flush, load
            long localSamplesTotal = 0;
            long loopStart = System.nanoTime();
            boolean completed = false;
            int rounds = 0;
            int lastGeneration = -1;
            long trainStart = System.nanoTime();
            int waitingLogged = -1;
            outer:
            while (true) {
                // 1. wait for an assignment of a new generation
                SortedRoundRobinAssignor.Membership membership = null;
                while (membership == null) {
                    if (stopRequested.getAsBoolean()) {
                        break outer;
                    }
                    rebalanced = false;
                    data.poll(POLL);
                    var m = SortedRoundRobinAssignor.membership(clientId);
                    int generation = data.groupMetadata().generationId();
                    if (m.isPresent() && m.get().generation() == generation && generation > lastGeneration && !rebalanced
                            && m.get().members().contains(m.get().memberId())) {
                        // the minimum holds for the start only: once the group made progress it goes on with fewer
                        if (m.get().members().size() >= config.groupMinMembers() || lastGeneration >= 0
                                || log.state().round() > 0) {
                            membership = m.get();
                        } else if (generation != waitingLogged) {
                            waitingLogged = generation;
                            LOGGER.info("Group {} generation {}: {} of the {} members {} needs; waiting for more", group,
                                    generation, m.get().members().size(), config.groupMinMembers(),
                                    TrainerConfig.GROUP_MIN_MEMBERS_CONFIG);
                        }
                    }
                }
                int generation = membership.generation();
                if (lastGeneration < 0) {
                    trainStart = System.nanoTime();
                }
                lastGeneration = generation;
                String me = membership.memberId();
                List<String> members = membership.members();
                // 2. mark the join in the log and read it up to the mark: the state every member of this generation restores
                publish(producer, syncSerializer, syncTopic, syncTp, new ModelSyncCodec.Message(ModelSyncKind.JOIN, group,
                        generation, 0, me, 0, List.of(), String.join("\n", members).getBytes(StandardCharsets.UTF_8)));
                producer.flush();
                long deadline = System.currentTimeMillis() + config.groupSyncTimeoutMs();
                while (!log.hasJoined(generation, me)) {
                    readSync(sync, syncDeserializer, syncTopic, log, POLL, ledger, ledgerLines, lineage);
                    if (System.currentTimeMillis() > deadline) {
                        throw new KdException("Group " + group + ": the join marker of generation " + generation
                                + " did not come back from " + syncTopic + " within " + TrainerConfig.GROUP_SYNC_TIMEOUT_CONFIG);
                    }
                }
                if (log.maxGeneration() > generation) {
                    // this member was dropped before it could join (a newer generation formed without it), or the broker
                    // forgot the consumer group of an earlier run under this id and counts generations from 1 again
                    if (log.maxGeneration() - generation > MAX_GENERATION_GAP) {
                        throw new KdException("Group " + group + ": the model-sync log " + syncTopic + " already holds "
                                + "generation " + log.maxGeneration() + " but the consumer group is at generation " + generation
                                + "; the broker forgot the consumer group of an earlier run under this id. Start the run under "
                                + "a new " + TrainerConfig.GROUP_CONFIG + ".");
                    }
                    LOGGER.warn("Group {}: generation {} is behind generation {} in the model-sync log; forcing a rebalance",
                            group, generation, log.maxGeneration());
                    data.enforceRebalance("generation behind the model-sync log");
                    awaitRebalance(data, new ArrayDeque<>(), ranges, decoder, dlq, producer);
                    continue outer;
                }
                SyncLog.State state = log.state();
                // steps of a round that did not count are undone: the optimizer state is the one after this process's
                // last counted contribution, which is what a replay of the model-sync log reconstructs
                lineage.rollBack();
                core.loadParameters(state.parameters() == null ? initial : unflatten(state.parameters(), initial));
                if (done(state, ranges) && state.epoch() + 1 >= config.epochs()) {
                    completed = true;
                    break;
                }
                // the last completed round may have ended an epoch: the next round starts the next one
                int epoch = done(state, ranges) ? state.epoch() + 1 : state.epoch();
                Map<Integer, Long> resumeAt = epoch == state.epoch() ? state.next() : Map.of();
                Map<Integer, Long> trainedNext = new TreeMap<>();
                List<TopicPartition> owned = assigned;
                for (TopicPartition tp : owned) {
                    long next = resumeAt.getOrDefault(tp.partition(), ranges.get(tp.partition())[0]);
                    trainedNext.put(tp.partition(), next);
                    data.seek(tp, next);
                }
                data.resume(owned);
                LOGGER.info("Group {} generation {}: member {} of {} {}, partitions {}, resuming from round {} ({} samples), "
                        + "epoch {} of {}", group, generation, members.indexOf(me) + 1, members.size(), me,
                        trainedNext.keySet(), state.round(), state.samples(), epoch + 1, config.epochs());
                Deque<Item> pending = new ArrayDeque<>();
                Map<Integer, Long> roundStart = new TreeMap<>(trainedNext);
                long round = state.round() + 1;
                long localSamples = 0;
                List<GroupStep> roundSteps = new ArrayList<>();
                while (true) {
                    if (stopRequested.getAsBoolean()) {
                        break outer;
                    }
                    if (rebalanced) {
                        continue outer;
                    }
                    // the round's steps: the training loop over the batches of this member's partitions, up to the sync
                    // interval or the end of the range; a rebalance or a stop request ends it early
                    RoundSource source = new RoundSource(new RoundInput(data, owned, ranges, pending, trainedNext, epoch),
                            new RoundDecoding(topic, architecture, decoder, dlq, producer));
                    TrainingLoop.Progress progress = new TrainingLoop.Progress(steps, 0, 0, Cursor.NONE);
                    List<GroupStep> stepsOfRound = roundSteps;
                    TrainingLoop loop = new TrainingLoop(source, (batch, index) -> core.step(batch, index), 0,
                            stopRequested, List.of(
                                    (p, batch, o) -> stepsOfRound.add(new GroupStep(p.steps() - 1, batch.segments().stream()
                                            .map(g -> new PartitionRange(topic, g.partition(), g.start(), g.end())).toList())),
                                    FailureHook.withoutBudget(runId, (reason, batch, at) -> dlq.publish(producer,
                                            FailureKind.NON_FINITE, reason, batch.first(),
                                            Map.of("runId", runId, "step", Long.toString(at)), null)),
                                    new StepRecordHook(stepPublisher, identity, stepListener),
                                    new GroupSyncHook(() -> rebalanced)));
                    TrainingLoop.End end = runRound(loop, progress, runId);
                    steps = progress.steps();
                    failedSteps += progress.failedSteps();
                    localSamples += progress.samples();
                    fbNanos += progress.forwardBackwardNanos();
                    optNanos += progress.optimizerNanos();
                    dataWaitNanos += progress.waitNanos();
                    if (end == TrainingLoop.End.STOPPED || stopRequested.getAsBoolean()) {
                        break outer;
                    }
                    if (end == TrainingLoop.End.ABORTED) {
                        continue outer; // a rebalance: the round does not count
                    }
                    boolean exhausted = fetchedAll(data, owned, ranges);
                    // 3. contribute and wait for the round of this generation to complete
                    if (exhausted && pending.isEmpty()) {
                        for (TopicPartition tp : owned) {
                            trainedNext.put(tp.partition(), Math.max(trainedNext.get(tp.partition()), ranges.get(tp.partition())[1]));
                        }
                    }
                    List<PartitionRange> trained = new ArrayList<>();
                    for (TopicPartition tp : owned) {
                        trained.add(new PartitionRange(topic, tp.partition(), roundStart.get(tp.partition()),
                                trainedNext.get(tp.partition())));
                    }
                    long s0 = System.nanoTime();
                    float[] flat = flatten(core.parameters());
                    publish(producer, syncSerializer, syncTopic, syncTp, new ModelSyncCodec.Message(ModelSyncKind.CONTRIBUTION,
                            group, generation, round, me, localSamples, trained, ModelSyncCodec.toBytes(flat), epoch, roundSteps,
                            clientId));
                    lineage.contributed(generation, round, me);
                    producer.flush();
                    long w0 = System.nanoTime();
                    syncNanos += w0 - s0;
                    long waitUntil = System.currentTimeMillis() + config.groupSyncTimeoutMs();
                    boolean forced = false;
                    while (log.state().round() < round || log.state().generation() != generation) {
                        if (stopRequested.getAsBoolean()) {
                            break outer;
                        }
                        readSync(sync, syncDeserializer, syncTopic, log, WAIT_POLL, ledger, ledgerLines, lineage);
                        if (log.maxGeneration() > generation || rebalanced) {
                            LOGGER.info("Group {} generation {} round {}: abandoned (the group is rebalancing)", group, generation, round);
                            roundWaitNanos += System.nanoTime() - w0;
                            awaitRebalance(data, pending, ranges, decoder, dlq, producer);
                            continue outer;
                        }
                        // keep taking part in the group (a rebalance is noticed here); fetched records wait in pending
                        fetch(data, pending, ranges, decoder, dlq, producer, Duration.ZERO);
                        if (!forced && System.currentTimeMillis() > waitUntil) {
                            LOGGER.warn("Group {} generation {} round {}: not every member contributed within {} ms; forcing a "
                                    + "rebalance", group, generation, round, config.groupSyncTimeoutMs());
                            data.enforceRebalance("round " + round + " timed out");
                            forced = true;
                        }
                    }
                    roundWaitNanos += System.nanoTime() - w0;
                    // 4. the round completed: take the average, commit the ledger, checkpoint the group
                    long l0 = System.nanoTime();
                    SyncLog.State after = log.state();
                    core.loadParameters(unflatten(after.parameters(), initial));
                    syncNanos += System.nanoTime() - l0;
                    localSamplesTotal += localSamples;
                    rounds++;
                    Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
                    for (TopicPartition tp : owned) {
                        commit.put(tp, new OffsetAndMetadata(after.next().getOrDefault(tp.partition(), ranges.get(tp.partition())[0])));
                    }
                    data.commitAsync(commit, (offsets, e) -> {
                        if (e != null) {
                            LOGGER.debug("Committing the group's offsets failed (the model-sync log holds them): {}", e.toString());
                        }
                    });
                    byte[] avg = ModelSyncCodec.toBytes(after.parameters());
                    if (me.equals(members.get(0))) {
                        List<PartitionRange> all = new ArrayList<>();
                        for (Map.Entry<Integer, long[]> r : ranges.entrySet()) {
                            all.add(new PartitionRange(topic, r.getKey(), r.getValue()[0],
                                    after.next().getOrDefault(r.getKey(), r.getValue()[0])));
                        }
                        publish(producer, syncSerializer, syncTopic, syncTp, new ModelSyncCodec.Message(ModelSyncKind.STATE,
                                group, generation, round, me, after.samples(), all, avg, after.epoch()));
                    }
                    LOGGER.info("Group {} generation {} round {}: {} members, {} local samples, {} samples in total, "
                            + "parameters sha256 {}", group, generation, round, members.size(), localSamples, after.samples(),
                            ModelSyncCodec.sha256Hex(avg));
                    // the group's model is the same on every member: the first member of the generation evaluates it
                    if (config.evalInterval() > 0 && me.equals(members.get(0)) && steps - lastEval >= config.evalInterval()
                            && !(done(after, ranges) && after.epoch() + 1 >= config.epochs())) { // the last is below
                        evaluation.run(producer, evalSerializer, runId, steps);
                        lastEval = steps;
                    }
                    if (done(after, ranges)) {
                        if (after.epoch() + 1 >= config.epochs()) {
                            completed = true;
                            break outer;
                        }
                        // every partition of the group is through: the next round starts the next epoch
                        epoch = after.epoch() + 1;
                        for (TopicPartition tp : owned) {
                            long begin = ranges.get(tp.partition())[0];
                            trainedNext.put(tp.partition(), begin);
                            data.seek(tp, begin);
                        }
                        data.resume(owned);
                        LOGGER.info("Group {}: epoch {} of {} done after round {}", group, epoch, config.epochs(), round);
                    }
                    round++;
                    localSamples = 0;
                    roundSteps = new ArrayList<>();
                    roundStart = new TreeMap<>(trainedNext);
                }
            }
            // every step record leaves before the FINISHED manifest (the monitors close the run on it)
            waitFor(stepPublisher::drain, runId);
            producer.flush();
            long loopNanos = System.nanoTime() - loopStart;
            double trainSeconds = (System.nanoTime() - trainStart) / 1e9;
            SyncLog.State state = log.state();
            Trainer.Timings timings = new Trainer.Timings(0, dataWaitNanos + roundWaitNanos, fbNanos, optNanos, 0, -1, loopNanos,
                    System.nanoTime() - runStart);
            LOGGER.info(String.format(java.util.Locale.ROOT, "Group %s member run %s time: %.3f s training (from the first "
                    + "generation), %d local steps, %d local samples in %d rounds; forward+backward %.3f s, optimizer %.3f s, "
                    + "waiting for data %.3f s, waiting for the round %.3f s, sync I/O %.3f s", group, runId, trainSeconds,
                    steps, localSamplesTotal, rounds, fbNanos / 1e9, optNanos / 1e9, dataWaitNanos / 1e9,
                    roundWaitNanos / 1e9, syncNanos / 1e9));
            if (!completed) {
                LOGGER.info("Group member run {} stopped after {} steps", runId, steps);
                return new Trainer.Result(runId, false, null, null, steps, state.samples(), failedSteps, dlq.count(), null, null,
                        timings, decoder.skippedUnlabelled());
            }
            core.loadParameters(state.parameters() == null ? initial : unflatten(state.parameters(), initial));
            Double accuracy = evaluation.run(producer, evalSerializer, runId, steps);
            Path modelDir = dir.resolve(Trainer.MODEL_DIR);
            SavedModel saved = ModelStore.saveTo(modelDir, core.block(), ModelMetadata.draft(architecture, ModelStore.PARAMETERS_FILE));
            TorchScriptStudent.exportInto(architecture, core.block(), modelDir);
            String sha = saved.metadata().parametersSha256();
            RunManifest done = RunManifests.finish(manifest, config, decoder.teacherSha256(), sha, modelDir);
            send(producer, config.topics().runs(), runId, manifestSerializer.serialize(config.topics().runs(), done));
            producer.flush();
            LOGGER.info("Group {} member run {} finished after round {} ({} rounds here): {} local steps, {} samples in the group "
                    + "model, {} s training (from the first generation), model sha256 {}", group, runId, state.round(), rounds,
                    steps, state.samples(), String.format(java.util.Locale.ROOT, "%.3f", trainSeconds),
                    sha);
            return new Trainer.Result(runId, true, sha, modelDir, steps, state.samples(), failedSteps, dlq.count(), accuracy,
                    done, timings, decoder.skippedUnlabelled());
        } finally {
            SortedRoundRobinAssignor.forget(clientId);
        }
    }

    /**
     * The run's manifest: the group's ranges and settings. A replay re-trains the group from the model-sync log (see
     * {@link GroupReplay}); the ranges are what the group trained, once per epoch.
     */
    private RunManifest.Builder manifest(String runId, Architecture architecture, Map<Integer, long[]> ranges, String topic) {
        List<PartitionRange> all = new ArrayList<>();
        ranges.forEach((p, r) -> all.add(new PartitionRange(topic, p, r[0], r[1])));
        return RunManifests.started(config, runId, architecture.name(), all, System.currentTimeMillis());
    }

    /** Polls until the rebalance that was announced has happened; what arrives meanwhile is dropped. */
    private void awaitRebalance(Consumer<byte[], byte[]> data, Deque<Item> pending, Map<Integer, long[]> ranges,
                                TeacherOutputDecoder decoder, DeadLetterPublisher dlq, Producer<byte[], byte[]> producer) {
        long deadline = System.currentTimeMillis() + config.groupSyncTimeoutMs();
        while (!rebalanced && !stopRequested.getAsBoolean()) {
            fetch(data, pending, ranges, decoder, dlq, producer);
            if (System.currentTimeMillis() > deadline) {
                data.enforceRebalance("a newer generation is in the model-sync log");
                deadline = System.currentTimeMillis() + config.groupSyncTimeoutMs();
            }
        }
    }

    private static boolean done(SyncLog.State state, Map<Integer, long[]> ranges) {
        for (Map.Entry<Integer, long[]> r : ranges.entrySet()) {
            if (state.next().getOrDefault(r.getKey(), r.getValue()[0]) < r.getValue()[1]) {
                return false;
            }
        }
        return true;
    }

    private static boolean fetchedAll(Consumer<byte[], byte[]> data, List<TopicPartition> owned, Map<Integer, long[]> ranges) {
        for (TopicPartition tp : owned) {
            if (data.position(tp) < ranges.get(tp.partition())[1]) {
                return false;
            }
        }
        return true;
    }

    private static int countExamples(Deque<Item> pending) {
        int n = 0;
        for (Item it : pending) {
            if (it.example() != null) {
                n++;
            }
        }
        return n;
    }

    /** One poll of the data consumer; records inside the range join {@code pending} (unless a rebalance started). */
    private void fetch(Consumer<byte[], byte[]> data, Deque<Item> pending, Map<Integer, long[]> ranges,
                       TeacherOutputDecoder decoder, DeadLetterPublisher dlq, Producer<byte[], byte[]> producer) {
        fetch(data, pending, ranges, decoder, dlq, producer, POLL);
    }

    private void fetch(Consumer<byte[], byte[]> data, Deque<Item> pending, Map<Integer, long[]> ranges,
                       TeacherOutputDecoder decoder, DeadLetterPublisher dlq, Producer<byte[], byte[]> producer, Duration timeout) {
        var records = data.poll(timeout);
        if (rebalanced) {
            pending.clear();
            return;
        }
        for (ConsumerRecord<byte[], byte[]> r : records) {
            long end = ranges.get(r.partition())[1];
            if (r.offset() >= end) {
                continue;
            }
            Example e;
            try {
                e = decoder.decode(r);
                if (e.skipped()) {
                    e = null; // a labels-only member passes over an unlabelled record: trained past, not on
                }
            } catch (RuntimeException ex) {
                if (FailureDisposition.of(ex) != FailureDisposition.DEAD_LETTER) {
                    throw ex;
                }
                dlq.publish(producer, r, ex);
                e = null;
            }
            pending.add(new Item(r.partition(), r.offset(), e));
        }
        for (TopicPartition tp : data.assignment()) {
            if (!data.paused().contains(tp) && data.position(tp) >= ranges.get(tp.partition())[1]) {
                data.pause(List.of(tp));
            }
        }
    }

    private static void readSync(Consumer<byte[], byte[]> sync, Deserializer<ModelSync> deserializer, String topic, SyncLog log,
                                 Duration timeout, Ledger ledger, long[] ledgerLines, Lineage lineage) {
        for (ConsumerRecord<byte[], byte[]> r : sync.poll(timeout)) {
            log.add(deserializer.deserialize(topic, r.value()));
        }
        List<SyncLog.State> done = log.drainCompleted();
        for (SyncLog.State round : done) {
            lineage.completed(round);
            for (Map.Entry<String, List<PartitionRange>> member : new TreeMap<>(round.trained()).entrySet()) {
                List<Batch.Segment> segments = new ArrayList<>();
                for (PartitionRange r : member.getValue()) {
                    if (r.getEndOffset() > r.getStartOffset()) {
                        segments.add(new Batch.Segment(r.getPartition(), r.getStartOffset(), r.getEndOffset()));
                    }
                }
                if (!segments.isEmpty()) {
                    ledger.write(++ledgerLines[0], segments);
                }
            }
        }
        if (!done.isEmpty()) {
            ledger.sync();
        }
    }

    /** The group ledger is rebuilt from the model-sync log by every start, so it starts empty. */
    private static Ledger freshLedger(Path file) {
        Ledger.truncate(file, 0);
        return Ledger.append(file);
    }

    private void publish(Producer<byte[], byte[]> producer, Serializer<ModelSync> serializer, String topic, TopicPartition tp,
                         ModelSyncCodec.Message message) {
        byte[] key = message.group().getBytes(StandardCharsets.UTF_8);
        List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
        for (ModelSync chunk : ModelSyncCodec.encode(message, config.groupSyncChunkBytes())) {
            sent.add(producer.send(new ProducerRecord<>(topic, tp.partition(), key, serializer.serialize(topic, chunk))));
        }
        if (message.kind() == ModelSyncKind.STATE) {
            return;
        }
        for (var f : sent) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KdException("Interrupted while publishing to " + topic, e);
            } catch (ExecutionException e) {
                throw new KdException("Publishing the group's " + message.kind() + " to " + topic + " failed: "
                        + e.getCause().getMessage(), e.getCause());
            }
        }
    }

    /** The group's partition of the model-sync topic: every record of a group goes to one partition, in order. */
    static TopicPartition syncPartition(Consumer<byte[], byte[]> consumer, String topic, String group) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
        if (infos == null || infos.isEmpty()) {
            throw new KdException("Topic " + topic + " does not exist; group training exchanges parameters through it ("
                    + "create it with 'kdstream topics create').");
        }
        int p = Utils.toPositive(Utils.murmur2(group.getBytes(StandardCharsets.UTF_8))) % infos.size();
        return new TopicPartition(topic, p);
    }

    /** Start and end offset of every partition of {@code topic}, by partition. */
    private static Map<Integer, long[]> snapshot(Consumer<byte[], byte[]> consumer, String topic) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
        if (infos == null || infos.isEmpty()) {
            throw new KdException("Topic " + topic + " does not exist or has no partitions; create it with "
                    + "'kdstream topics create' and fill it with the teacher-service first.");
        }
        List<TopicPartition> tps = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
        Map<TopicPartition, Long> begin = consumer.beginningOffsets(tps, Duration.ofSeconds(30));
        Map<TopicPartition, Long> end = consumer.endOffsets(tps, Duration.ofSeconds(30));
        Map<Integer, long[]> out = new TreeMap<>();
        for (TopicPartition tp : tps) {
            out.put(tp.partition(), new long[] {begin.get(tp), end.get(tp)});
        }
        return out;
    }

    private static String describe(Map<Integer, long[]> ranges) {
        StringBuilder sb = new StringBuilder();
        ranges.forEach((p, r) -> sb.append(p).append(":[").append(r[0]).append(',').append(r[1]).append(") "));
        return sb.toString().trim();
    }

    /** The offset segments of a batch's records, in batch order: a run of records of one partition is one segment. */
    static List<Batch.Segment> segments(List<Item> taken) {
        List<Batch.Segment> out = new ArrayList<>();
        for (Item it : taken) {
            Batch.Segment.append(out, it.partition(), it.offset());
        }
        return out;
    }

    /**
     * This process's optimizer state as the group counts it: the state after its last contribution that made it into a
     * completed round. Steps of a round that was abandoned are rolled back, so the state depends on the model-sync log
     * alone.
     */
    private static final class Lineage {
        private final String id;
        private final TrainingCore core;
        private Snapshot committed;
        private Snapshot pending;
        private int pendingGeneration;
        private long pendingRound;
        private String pendingMember;

        private record Snapshot(Map<String, float[]> arrays, Map<String, long[]> shapes, long updates) {
        }

        Lineage(String id, TrainingCore core) {
            this.id = id;
            this.core = core;
            this.committed = take();
        }

        private Snapshot take() {
            Map<String, long[]> shapes = new HashMap<>();
            Map<String, float[]> arrays = core.snapshot(shapes);
            return new Snapshot(arrays, shapes, core.optimizerUpdates());
        }

        /** Called right after sending a contribution: the state it leaves counts once its round completes. */
        void contributed(int generation, long round, String memberId) {
            pending = take();
            pendingGeneration = generation;
            pendingRound = round;
            pendingMember = memberId;
        }

        /** A round completed in the log; if it counted this process's pending contribution, that state is committed. */
        void completed(SyncLog.State round) {
            if (pending != null && round.generation() == pendingGeneration && round.round() == pendingRound
                    && round.contributions().stream().anyMatch(c -> c.memberId().equals(pendingMember) && c.lineage().equals(id))) {
                committed = pending;
                pending = null;
            }
        }

        /** Restores the committed state (parameters are loaded from the group state afterwards). */
        void rollBack() {
            core.restore(committed.arrays(), committed.shapes(), committed.updates());
        }
    }

    static float[] flatten(Map<String, float[]> parameters) {
        int n = 0;
        for (float[] a : parameters.values()) {
            n += a.length;
        }
        float[] out = new float[n];
        int at = 0;
        for (float[] a : parameters.values()) {
            System.arraycopy(a, 0, out, at, a.length);
            at += a.length;
        }
        return out;
    }

    static Map<String, float[]> unflatten(float[] flat, Map<String, float[]> like) {
        Map<String, float[]> out = new LinkedHashMap<>();
        int at = 0;
        for (Map.Entry<String, float[]> e : like.entrySet()) {
            int n = e.getValue().length;
            if (at + n > flat.length) {
                throw new KdException("The group's parameters (" + flat.length + " values) do not fit this student");
            }
            out.put(e.getKey(), java.util.Arrays.copyOfRange(flat, at, at + n));
            at += n;
        }
        if (at != flat.length) {
            throw new KdException("The group's parameters (" + flat.length + " values) do not fit this student (" + at + ")");
        }
        return out;
    }

    private static void send(Producer<byte[], byte[]> producer, String topic, String key, byte[] value) {
        producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value), (md, e) -> {
            if (e != null) {
                LOGGER.warn("Publishing to {} failed: {}", topic, e.toString());
            }
        });
    }

    /** Runs the training loop over one round's batches; an interrupt ends the run as in {@link Trainer}. */
    private static TrainingLoop.End runRound(TrainingLoop loop, TrainingLoop.Progress progress, String runId) {
        try {
            return loop.run(progress);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KdException("Training of group member run " + runId + " was interrupted", e);
        }
    }

    /** Where a round reads: the member's data consumer and partitions, its pending records and trained positions. */
    private record RoundInput(Consumer<byte[], byte[]> data, List<TopicPartition> owned, Map<Integer, long[]> ranges,
                              Deque<Item> pending, Map<Integer, Long> trainedNext, int epoch) {
    }

    /** How a round decodes and dead-letters its records and assembles its batches. */
    private record RoundDecoding(String topic, Architecture architecture, TeacherOutputDecoder decoder,
                                 DeadLetterPublisher dlq, Producer<byte[], byte[]> producer) {
    }

    /**
     * The batches of one round of this member: up to {@code trainer.group.sync.interval.steps} batches of up to
     * {@code trainer.batch.size} examples from the member's partitions, with the dead-lettered records between them;
     * exhausted (null) when the round has its steps or the member's ranges are through, or when a stop is requested;
     * aborted ({@link TrainingLoop.Abort}) when the group rebalances while it fills a batch. Runs on the training thread.
     */
    private final class RoundSource implements BatchSource {
        private final RoundInput in;
        private final RoundDecoding how;
        private int batches;

        RoundSource(RoundInput in, RoundDecoding how) {
            this.in = in;
            this.how = how;
        }

        @Override
        public Batch poll(long timeoutMs) {
            while (true) {
                if (stopRequested.getAsBoolean()) {
                    return null;
                }
                if (rebalanced) {
                    throw new TrainingLoop.Abort(GroupSyncHook.REBALANCING);
                }
                boolean exhausted = fetchedAll(in.data(), in.owned(), in.ranges());
                if (batches >= config.groupSyncIntervalSteps() || exhausted && in.pending().isEmpty()) {
                    return null;
                }
                while (!rebalanced && countExamples(in.pending()) < config.batchSize()
                        && !fetchedAll(in.data(), in.owned(), in.ranges())) {
                    fetch(in.data(), in.pending(), in.ranges(), how.decoder(), how.dlq(), how.producer());
                }
                if (rebalanced) {
                    throw new TrainingLoop.Abort(GroupSyncHook.REBALANCING);
                }
                Batch batch = nextFromPending();
                if (batch != null) {
                    batches++;
                    return batch;
                }
            }
        }

        /** The next batch from the pending records, or null when they held only dead-lettered ones (consumed). */
        private Batch nextFromPending() {
            List<Item> taken = new ArrayList<>();
            List<Example> examples = new ArrayList<>();
            while (!in.pending().isEmpty() && examples.size() < config.batchSize()) {
                Item it = in.pending().poll();
                taken.add(it);
                if (it.example() != null) {
                    examples.add(it.example());
                }
            }
            for (Item it : taken) {
                in.trainedNext().put(it.partition(), it.offset() + 1);
            }
            if (examples.isEmpty()) {
                return null;
            }
            Architecture a = how.architecture();
            return BatchAssembler.assemble(how.topic(), in.epoch(), examples, a.inputSize(), a.numClasses(), Cursor.NONE,
                    Map.of(), 0, 0, segments(taken));
        }

    }

    /** An action that may wait for the step publisher. */
    private interface Waiting {
        void run() throws InterruptedException;
    }

    /** Runs {@code action}, which may wait; an interrupt ends the run as in {@link Trainer} (the flag is kept). */
    private static void waitFor(Waiting action, String runId) {
        try {
            action.run();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KdException("Training of group member run " + runId + " was interrupted", e);
        }
    }
}
