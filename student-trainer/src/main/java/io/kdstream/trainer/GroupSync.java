package io.kdstream.trainer;

import io.kdstream.avro.GroupStep;
import io.kdstream.avro.ModelSync;
import io.kdstream.avro.ModelSyncKind;
import io.kdstream.avro.PartitionRange;
import io.kdstream.core.KdException;
import io.kdstream.trainer.group.ModelAverager;
import io.kdstream.trainer.group.ModelSyncCodec;
import io.kdstream.trainer.group.SyncLog;
import io.kdstream.trainer.run.Ledger;
import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.state.TrainingCore;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.utils.Utils;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * A group member's side of the model-sync log: it marks the member's joins, sends its contributions and the group
 * state, reads the log into the group's {@link SyncLog} (appending every completed round to the group ledger), and moves
 * the member's model to the group's: the state a generation restores (with the optimizer state of this process's last
 * counted contribution, its {@link Lineage}) and the average of a completed round. It does not decide when a round
 * ends; {@link GroupSource} does, as it reaches the end of a round's batches.
 */
final class GroupSync {
    /** The Kafka side of the log: where it lives and the clients that write and read it. */
    record Log(String topic, TopicPartition partition, Producer<byte[], byte[]> producer, Consumer<byte[], byte[]> consumer,
               Serializer<ModelSync> serializer, Deserializer<ModelSync> deserializer) {
    }

    private final TrainerConfig config;
    private final String group;
    private final Log kafka;
    private final SyncLog log;
    private final TrainingCore core;
    private final Map<String, float[]> initial;
    private final Lineage lineage;
    private final Ledger ledger;
    private long ledgerLines;

    /**
     * @param lineageId this process's id in the log (its optimizer-state lineage)
     * @param ledger    the group ledger, rebuilt from the log by every start (so it starts empty)
     */
    GroupSync(TrainerConfig config, Log kafka, TrainingCore core, String lineageId, Ledger ledger) {
        this.config = config;
        this.group = config.group();
        this.kafka = kafka;
        this.log = new SyncLog(group);
        this.core = core;
        this.initial = core.parameters();
        this.lineage = new Lineage(lineageId, core);
        this.ledger = ledger;
        kafka.consumer().assign(List.of(kafka.partition()));
        kafka.consumer().seekToBeginning(List.of(kafka.partition()));
    }

    /** The group's partition of the model-sync topic: every record of a group goes to one partition, in order. */
    static TopicPartition partitionOf(Consumer<byte[], byte[]> consumer, String topic, String group) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
        if (infos == null || infos.isEmpty()) {
            throw new KdException("Topic " + topic + " does not exist; group training exchanges parameters through it ("
                    + "create it with 'kdstream topics create').");
        }
        int p = Utils.toPositive(Utils.murmur2(group.getBytes(StandardCharsets.UTF_8))) % infos.size();
        return new TopicPartition(topic, p);
    }

    /** The group ledger is rebuilt from the model-sync log by every start, so it starts empty. */
    static Ledger freshLedger(Path file) {
        Ledger.truncate(file, 0);
        return Ledger.append(file);
    }

    /** The group's state after the latest completed round read so far. */
    SyncLog.State state() {
        return log.state();
    }

    /** The newest generation the log has seen. */
    int maxGeneration() {
        return log.maxGeneration();
    }

    /**
     * Marks {@code member}'s join to {@code generation} in the log and reads the log up to the mark: the state every
     * member of the generation restores.
     */
    void join(int generation, String member, List<String> members) {
        publish(new ModelSyncCodec.Message(ModelSyncKind.JOIN, group, generation, 0, member, 0, List.of(),
                String.join("\n", members).getBytes(StandardCharsets.UTF_8)));
        kafka.producer().flush();
        long deadline = System.currentTimeMillis() + config.groupSyncTimeoutMs();
        while (!log.hasJoined(generation, member)) {
            read(GroupSource.POLL);
            if (System.currentTimeMillis() > deadline) {
                throw new KdException("Group " + group + ": the join marker of generation " + generation
                        + " did not come back from " + kafka.topic() + " within " + TrainerConfig.GROUP_SYNC_TIMEOUT_CONFIG);
            }
        }
    }

    /**
     * Moves the member's model to the group's state: steps of a round that did not count are undone (the optimizer
     * state is the one after this process's last counted contribution, which is what a replay of the model-sync log
     * reconstructs) and the parameters are the latest completed round's.
     */
    SyncLog.State restore() {
        lineage.rollBack();
        return loadState();
    }

    /** Loads the parameters of the group's latest completed round (the seeded ones before the first) into the model. */
    SyncLog.State loadState() {
        SyncLog.State state = log.state();
        core.loadParameters(state.parameters() == null ? initial : ModelAverager.unflatten(state.parameters(), initial));
        return state;
    }

    /** What a member contributes to a round. */
    record Contribution(int generation, long round, String member, long samples, List<PartitionRange> trained, int epoch,
                        List<GroupStep> steps) {
    }

    /** Sends the member's parameters after its steps of a round, and waits until the log has them. */
    void contribute(Contribution c) {
        float[] flat = ModelAverager.flatten(core.parameters());
        publish(new ModelSyncCodec.Message(ModelSyncKind.CONTRIBUTION, group, c.generation(), c.round(), c.member(),
                c.samples(), c.trained(), ModelSyncCodec.toBytes(flat), c.epoch(), c.steps(), lineage.id));
        lineage.contributed(c.generation(), c.round(), c.member());
        kafka.producer().flush();
    }

    /** Takes the average of the latest completed round as the member's model. */
    SyncLog.State adopt() {
        SyncLog.State after = log.state();
        core.loadParameters(ModelAverager.unflatten(after.parameters(), initial));
        return after;
    }

    /** Publishes the group state after {@code after} (sent by one member per round; a restart may start from it). */
    void publishState(int generation, String member, SyncLog.State after, List<PartitionRange> ranges) {
        publish(new ModelSyncCodec.Message(ModelSyncKind.STATE, group, generation, after.round(), member, after.samples(),
                ranges, ModelSyncCodec.toBytes(after.parameters()), after.epoch()));
    }

    /**
     * Reads what the log has within {@code timeout}; each round it completes is credited to this process's lineage and
     * appended to the group ledger, one line per member with the ranges its contribution trained.
     */
    void read(Duration timeout) {
        for (ConsumerRecord<byte[], byte[]> r : kafka.consumer().poll(timeout)) {
            log.add(kafka.deserializer().deserialize(kafka.topic(), r.value()));
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
                    ledger.write(++ledgerLines, segments);
                }
            }
        }
        if (!done.isEmpty()) {
            ledger.sync();
        }
    }

    /** Sends {@code message} in chunks; waits for the broker's acknowledgement except for a STATE record. */
    private void publish(ModelSyncCodec.Message message) {
        String topic = kafka.topic();
        byte[] key = message.group().getBytes(StandardCharsets.UTF_8);
        List<Future<?>> sent = new ArrayList<>();
        for (ModelSync chunk : ModelSyncCodec.encode(message, config.groupSyncChunkBytes())) {
            sent.add(kafka.producer().send(new ProducerRecord<>(topic, kafka.partition().partition(), key,
                    kafka.serializer().serialize(topic, chunk))));
        }
        if (message.kind() == ModelSyncKind.STATE) {
            return;
        }
        for (Future<?> f : sent) {
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
}
