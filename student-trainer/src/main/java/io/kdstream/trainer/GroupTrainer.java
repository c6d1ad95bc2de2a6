package io.kdstream.trainer;

import io.kdstream.avro.EvalResult;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.ModelSync;
import io.kdstream.avro.PartitionRange;
import io.kdstream.avro.RunManifest;
import io.kdstream.avro.TrainingStep;
import io.kdstream.core.KdException;
import io.kdstream.core.kafka.DeadLetterPublisher;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.model.ModelStore;
import io.kdstream.core.model.SavedModel;
import io.kdstream.core.zoo.Architecture;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.trainer.group.SortedRoundRobinAssignor;
import io.kdstream.trainer.group.SyncLog;
import io.kdstream.trainer.loop.FailureHook;
import io.kdstream.trainer.loop.GroupSyncHook;
import io.kdstream.trainer.loop.StepRecordHook;
import io.kdstream.trainer.loop.TrainingLoop;
import io.kdstream.trainer.run.Ledger;
import io.kdstream.trainer.run.StepPublisher;
import io.kdstream.trainer.source.Cursor;
import io.kdstream.trainer.source.TeacherOutputDecoder;
import io.kdstream.trainer.source.TopicRanges;
import io.kdstream.trainer.state.TrainingCore;
import io.kdstream.trainer.student.TorchScriptStudent;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.GroupProtocol;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
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

    private final TrainerConfig config;
    private final BooleanSupplier stopRequested;
    private final java.util.function.Consumer<TrainingStep> stepListener;

    GroupTrainer(TrainerConfig config, BooleanSupplier stopRequested,
                 java.util.function.Consumer<TrainingStep> stepListener) {
        this.config = config;
        this.stopRequested = stopRequested;
        this.stepListener = stepListener;
    }

    /** The data consumer's settings: the group's own assignor, on the classic protocol, and a quick session timeout. */
    private Map<String, Object> dataConsumerOverrides(String clientId) {
        Map<String, Object> overrides = new HashMap<>();
        overrides.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        overrides.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, GroupProtocol.CLASSIC.name().toLowerCase(Locale.ROOT));
        overrides.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, SortedRoundRobinAssignor.class.getName());
        overrides.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500);
        if (!config.clientProperties().containsKey(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG)) {
            overrides.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
            overrides.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1_000);
        }
        return overrides;
    }

    Trainer.Result run() {
        long runStart = System.nanoTime();
        Architecture architecture = StudentArchitectures.resolve(config, config.topics().teacherOutputs(), false, stopRequested);
        String group = config.group();
        String runId = config.runId().isBlank() ? group + "-" + UUID.randomUUID().toString().substring(0, 8) : config.runId();
        Map<String, Object> serde = config.serdeProperties();
        DeadLetterPublisher dlq = new DeadLetterPublisher(Trainer.COMPONENT, config.topics().dlq(),
                KdAvroSerdes.value(FailureEvent.class, serde).serializer());
        String topic = config.topics().teacherOutputs();
        String syncTopic = config.topics().modelSync();
        String clientId = "kd-group-" + runId + "-" + UUID.randomUUID().toString().substring(0, 8);
        TeacherOutputDecoder decoder = RecordDecoders.teacherOutputs(config, architecture, false);

        try (Producer<byte[], byte[]> producer = KafkaClients.producer(config, "kd-trainer-" + runId, Map.of());
             StepPublisher<TrainingStep> stepPublisher = new StepPublisher<>(producer,
                     KdAvroSerdes.value(TrainingStep.class, serde).serializer(), config.topics().metrics(), STEP_QUEUE,
                     "kd-steps-" + runId);
             TrainingCore core = new TrainingCore(config, architecture);
             Consumer<byte[], byte[]> data = KafkaClients.consumer(config, group, dataConsumerOverrides(clientId));
             Consumer<byte[], byte[]> syncConsumer = KafkaClients.consumer(config, null, Map.of());
             Ledger ledger = GroupSync.freshLedger(config.checkpointDir().resolve(Trainer.LEDGER_FILE).toAbsolutePath())) {
            Trainer.Evaluation evaluation = new Trainer.Evaluation(config, core);
            Serializer<EvalResult> evalSerializer = KdAvroSerdes.value(EvalResult.class, serde).serializer();
            List<PartitionRange> topicRanges = TopicRanges.of(data, topic);
            Map<Integer, long[]> ranges = new TreeMap<>();
            topicRanges.forEach(r -> ranges.put(r.getPartition(), new long[] {r.getStartOffset(), r.getEndOffset()}));
            GroupSync.Log syncLog = new GroupSync.Log(syncTopic, GroupSync.partitionOf(syncConsumer, syncTopic, group), producer,
                    syncConsumer, KdAvroSerdes.value(ModelSync.class, serde).serializer(),
                    KdAvroSerdes.value(ModelSync.class, serde).deserializer());
            // the manifest names the group's ranges: a replay re-trains the group from the model-sync log (GroupReplay)
            RunManifest.Builder manifest = RunManifests.started(config, runId, architecture.name(), topicRanges,
                    System.currentTimeMillis());
            Serializer<RunManifest> manifestSerializer = KdAvroSerdes.value(RunManifest.class, serde).serializer();
            send(producer, config.topics().runs(), runId, manifestSerializer.serialize(config.topics().runs(), manifest.build()));
            GroupSync sync = new GroupSync(config, syncLog, core, clientId, ledger);
            GroupSource source = new GroupSource(config, new GroupSource.Reading(data, topic, ranges, architecture, decoder, dlq,
                    producer), sync, clientId, stopRequested, at -> evaluation.run(producer, evalSerializer, runId, at));
            source.subscribe();
            LOGGER.info("Group {} member run {} starting: student={} topic={} ranges={} K={}", group, runId, architecture.name(),
                    topic, TopicRanges.describe(topicRanges), config.groupSyncIntervalSteps());

            TrainingLoop loop = new TrainingLoop(source, core::step, 0, stopRequested, List.of(
                    source::afterStep,
                    FailureHook.withoutBudget(runId, (reason, batch, at) -> dlq.publish(producer, FailureKind.NON_FINITE,
                            reason, batch.first(), Map.of("runId", runId, "step", Long.toString(at)), null)),
                    new StepRecordHook(stepPublisher, new StepRecordHook.Identity(runId, config.trainerId(), group),
                            stepListener),
                    new GroupSyncHook(source::rebalancing)));
            TrainingLoop.Progress progress = new TrainingLoop.Progress(0, 0, 0, Cursor.NONE);
            long loopStart = System.nanoTime();
            // one run of the loop per generation of the group: a rebalance aborts it, and the member joins the next one
            while (source.join()) {
                if (runLoop(loop, progress, runId) != TrainingLoop.End.ABORTED) {
                    break;
                }
            }
            // every step record leaves before the FINISHED manifest (the monitors close the run on it)
            waitFor(stepPublisher::drain, runId);
            producer.flush();
            long steps = progress.steps();
            GroupSource.Stats stats = source.stats();
            long dataWaitNanos = progress.waitNanos() - stats.roundEndNanos();
            double trainSeconds = (System.nanoTime() - stats.trainStart()) / 1e9;
            SyncLog.State state = sync.state();
            Trainer.Timings timings = new Trainer.Timings(0, dataWaitNanos + stats.roundWaitNanos(),
                    progress.forwardBackwardNanos(), progress.optimizerNanos(), 0, -1, System.nanoTime() - loopStart,
                    System.nanoTime() - runStart);
            LOGGER.info(String.format(Locale.ROOT, "Group %s member run %s time: %.3f s training (from the first "
                    + "generation), %d local steps, %d local samples in %d rounds; forward+backward %.3f s, optimizer %.3f s, "
                    + "waiting for data %.3f s, waiting for the round %.3f s, sync I/O %.3f s", group, runId, trainSeconds,
                    steps, stats.localSamples(), stats.rounds(), progress.forwardBackwardNanos() / 1e9,
                    progress.optimizerNanos() / 1e9, dataWaitNanos / 1e9, stats.roundWaitNanos() / 1e9,
                    stats.syncNanos() / 1e9));
            if (!source.completed()) {
                LOGGER.info("Group member run {} stopped after {} steps", runId, steps);
                return new Trainer.Result(runId, false, null, null, steps, state.samples(), progress.failedSteps(), dlq.count(),
                        null, null, timings, decoder.skippedUnlabelled());
            }
            sync.loadState(); // the group's final model
            Double accuracy = evaluation.run(producer, evalSerializer, runId, steps);
            Path modelDir = config.checkpointDir().resolve(Trainer.MODEL_DIR);
            SavedModel saved = ModelStore.saveTo(modelDir, core.block(), ModelMetadata.draft(architecture, ModelStore.PARAMETERS_FILE));
            TorchScriptStudent.exportInto(architecture, core.block(), modelDir);
            String sha = saved.metadata().parametersSha256();
            RunManifest done = RunManifests.finish(manifest, config, decoder.teacherSha256(), sha, modelDir);
            send(producer, config.topics().runs(), runId, manifestSerializer.serialize(config.topics().runs(), done));
            producer.flush();
            LOGGER.info("Group {} member run {} finished after round {} ({} rounds here): {} local steps, {} samples in the group "
                    + "model, {} s training (from the first generation), model sha256 {}", group, runId, state.round(),
                    stats.rounds(), steps, state.samples(), String.format(Locale.ROOT, "%.3f", trainSeconds), sha);
            return new Trainer.Result(runId, true, sha, modelDir, steps, state.samples(), progress.failedSteps(), dlq.count(),
                    accuracy, done, timings, decoder.skippedUnlabelled());
        } finally {
            SortedRoundRobinAssignor.forget(clientId);
        }
    }

    private static void send(Producer<byte[], byte[]> producer, String topic, String key, byte[] value) {
        producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value), (md, e) -> {
            if (e != null) {
                LOGGER.warn("Publishing to {} failed: {}", topic, e.toString());
            }
        });
    }

    /** Runs the training loop over one generation's batches; an interrupt ends the run as in {@link Trainer}. */
    private static TrainingLoop.End runLoop(TrainingLoop loop, TrainingLoop.Progress progress, String runId) {
        try {
            return loop.run(progress);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KdException("Training of group member run " + runId + " was interrupted", e);
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
