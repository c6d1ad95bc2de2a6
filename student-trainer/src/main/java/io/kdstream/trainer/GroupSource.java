package io.kdstream.trainer;

import io.kdstream.avro.GroupStep;
import io.kdstream.avro.PartitionRange;
import io.kdstream.core.KdException;
import io.kdstream.core.kafka.DeadLetterPublisher;
import io.kdstream.core.kafka.FailureDisposition;
import io.kdstream.core.zoo.Architecture;
import io.kdstream.trainer.group.ModelSyncCodec;
import io.kdstream.trainer.group.SortedRoundRobinAssignor;
import io.kdstream.trainer.group.SyncLog;
import io.kdstream.trainer.loop.GroupSyncHook;
import io.kdstream.trainer.loop.TrainingLoop;
import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.source.BatchAssembler;
import io.kdstream.trainer.source.BatchSource;
import io.kdstream.trainer.source.Cursor;
import io.kdstream.trainer.source.Example;
import io.kdstream.trainer.source.TeacherOutputDecoder;
import io.kdstream.trainer.state.TrainingCore.StepOutcome;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.function.LongConsumer;

/**
 * The batches of a group member ({@code trainer.group.training=true}): the partitions the consumer group assigned it,
 * in arrival order, in rounds of up to {@code trainer.group.sync.interval.steps} batches. Each generation of the group
 * starts with {@link #join()}: the member waits for its assignment, marks its join in the model-sync log, restores the
 * group's latest completed round and seeks its partitions to that round's offsets; the training loop then takes the
 * generation's batches from {@link #poll}. When a round's batches are through (its steps are taken, or the member's
 * partitions are) the source ends the round through {@link GroupSync} before it hands out the next batch: it sends the
 * member's contribution, waits until every member of the generation has, and takes the average, so the next round
 * starts from the group's model. A round can have no step at all (a member whose partitions are through, or that owns
 * none, still contributes to every round), which is why the round ends here and not in a hook after a step.
 *
 * <p>A rebalance aborts the generation ({@link TrainingLoop.Abort}, from here or from {@link GroupSyncHook} after a
 * step): what the member trained since the last completed round does not count, and its next {@link #join()} rolls it
 * back. The source is exhausted (null) when the group finished its last epoch ({@link #completed()}) or a stop was
 * requested. It reads on the training thread: the consumer group's callbacks run inside its polls.
 */
final class GroupSource implements BatchSource {
    /** Polls of the data consumer; also the model-sync log's while a member joins. */
    static final Duration POLL = Duration.ofMillis(50);
    private static final Logger LOGGER = LoggerFactory.getLogger(GroupSource.class);
    /** Generations a member may be behind the model-sync log and catch up by forcing rebalances. */
    private static final int MAX_GENERATION_GAP = 20;
    /** Polls while a round waits: short, so a completed round is noticed within a few milliseconds. */
    private static final Duration WAIT_POLL = Duration.ofMillis(5);

    /** How the member reads, decodes and dead-letters the records of its partitions and assembles its batches. */
    record Reading(Consumer<byte[], byte[]> data, String topic, Map<Integer, long[]> ranges, Architecture architecture,
                   TeacherOutputDecoder decoder, DeadLetterPublisher dlq, Producer<byte[], byte[]> producer) {
    }

    /** An item read from an owned partition: an example, or null for a dead-lettered record. */
    private record Item(int partition, long offset, Example example) {
    }

    /** Where the member's time outside the training step went, and what it trained. */
    static final class Stats {
        private long roundWaitNanos;
        private long syncNanos;
        private long roundEndNanos;
        private long localSamples;
        private int rounds;
        private long trainStart = System.nanoTime();

        /** Waiting for the other members' contributions. */
        long roundWaitNanos() {
            return roundWaitNanos;
        }

        /** Contributing and taking the average: flatten, send, flush, load. */
        long syncNanos() {
            return syncNanos;
        }

        /** Ending rounds in all (waiting, sync I/O, offset commits, the group's evaluations). */
        long roundEndNanos() {
            return roundEndNanos;
        }

        /** Samples of this member's counted rounds. */
        long localSamples() {
            return localSamples;
        }

        /** Rounds this member took part in that completed. */
        int rounds() {
            return rounds;
        }

        /** When the member's first generation started. */
        long trainStart() {
            return trainStart;
        }
    }

    private final TrainerConfig config;
    private final Reading in;
    private final GroupSync sync;
    private final String clientId;
    private final BooleanSupplier stopRequested;
    private final LongConsumer evaluate;
    private final Stats stats = new Stats();

    private volatile boolean rebalanced;
    private volatile List<TopicPartition> assigned = List.of();
    private int lastGeneration = -1;
    private int waitingLogged = -1;
    private boolean completed;
    private long steps;
    private long lastEval;

    // the generation and round this member is in
    private int generation;
    private String me;
    private List<String> members = List.of();
    private List<TopicPartition> owned = List.of();
    private int epoch;
    private long round;
    private Deque<Item> pending = new ArrayDeque<>();
    private final Map<Integer, Long> trainedNext = new TreeMap<>();
    private Map<Integer, Long> roundStart = Map.of();
    private List<GroupStep> roundSteps = new ArrayList<>();
    private long roundSamples;
    private int batches;

    /**
     * @param evaluate evaluates the group's model at a step count (run by the generation's first member)
     */
    GroupSource(TrainerConfig config, Reading in, GroupSync sync, String clientId, BooleanSupplier stopRequested,
                LongConsumer evaluate) {
        this.config = config;
        this.in = in;
        this.sync = sync;
        this.clientId = clientId;
        this.stopRequested = stopRequested;
        this.evaluate = evaluate;
    }

    /** Subscribes the data consumer; nothing is fetched before a generation's partitions are sought to the group state. */
    void subscribe() {
        Consumer<byte[], byte[]> data = in.data();
        data.subscribe(List.of(in.topic()), new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                rebalanced = true;
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                rebalanced = true;
                assigned = partitions.stream().sorted(Comparator.comparingInt(TopicPartition::partition)).toList();
                data.pause(partitions);
            }
        });
    }

    /** True once the member's partitions were revoked or newly assigned: the generation's round does not count. */
    boolean rebalancing() {
        return rebalanced;
    }

    /** Whether the group finished its last epoch. */
    boolean completed() {
        return completed;
    }

    Stats stats() {
        return stats;
    }

    /**
     * Starts the member's next generation: waits for an assignment of a generation newer than the last, marks the join
     * in the model-sync log, restores the group's latest completed round and seeks the assigned partitions to it.
     *
     * @return true when the generation has batches to train; false when a stop was requested or the group is through
     *         its last epoch ({@link #completed()})
     */
    boolean join() {
        while (true) {
            SortedRoundRobinAssignor.Membership membership = awaitMembership();
            if (membership == null) {
                return false;
            }
            generation = membership.generation();
            if (lastGeneration < 0) {
                stats.trainStart = System.nanoTime();
            }
            lastGeneration = generation;
            me = membership.memberId();
            members = membership.members();
            sync.join(generation, me, members);
            if (sync.maxGeneration() > generation) {
                catchUp();
                continue;
            }
            SyncLog.State state = sync.restore();
            if (done(state) && state.epoch() + 1 >= config.epochs()) {
                completed = true;
                return false;
            }
            // the last completed round may have ended an epoch: the next round starts the next one
            epoch = done(state) ? state.epoch() + 1 : state.epoch();
            Map<Integer, Long> resumeAt = epoch == state.epoch() ? state.next() : Map.of();
            trainedNext.clear();
            owned = assigned;
            for (TopicPartition tp : owned) {
                long next = resumeAt.getOrDefault(tp.partition(), in.ranges().get(tp.partition())[0]);
                trainedNext.put(tp.partition(), next);
                in.data().seek(tp, next);
            }
            in.data().resume(owned);
            LOGGER.info("Group {} generation {}: member {} of {} {}, partitions {}, resuming from round {} ({} samples), "
                    + "epoch {} of {}", config.group(), generation, members.indexOf(me) + 1, members.size(), me,
                    trainedNext.keySet(), state.round(), state.samples(), epoch + 1, config.epochs());
            pending = new ArrayDeque<>();
            round = state.round() + 1;
            startRound();
            return true;
        }
    }

    /** Waits for an assignment of a new generation that this member belongs to; null once a stop is requested. */
    private SortedRoundRobinAssignor.Membership awaitMembership() {
        while (true) {
            if (stopRequested.getAsBoolean()) {
                return null;
            }
            rebalanced = false;
            in.data().poll(POLL);
            var m = SortedRoundRobinAssignor.membership(clientId);
            int current = in.data().groupMetadata().generationId();
            if (m.isPresent() && m.get().generation() == current && current > lastGeneration && !rebalanced
                    && m.get().members().contains(m.get().memberId())) {
                // the minimum holds for the start only: once the group made progress it goes on with fewer
                if (m.get().members().size() >= config.groupMinMembers() || lastGeneration >= 0 || sync.state().round() > 0) {
                    return m.get();
                } else if (current != waitingLogged) {
                    waitingLogged = current;
                    LOGGER.info("Group {} generation {}: {} of the {} members {} needs; waiting for more", config.group(),
                            current, m.get().members().size(), config.groupMinMembers(), TrainerConfig.GROUP_MIN_MEMBERS_CONFIG);
                }
            }
        }
    }

    /**
     * This member was dropped before it could join (a newer generation formed without it), or the broker forgot the
     * consumer group of an earlier run under this id and counts generations from 1 again: force a rebalance.
     */
    private void catchUp() {
        int newest = sync.maxGeneration();
        if (newest - generation > MAX_GENERATION_GAP) {
            throw new KdException("Group " + config.group() + ": the model-sync log " + config.topics().modelSync()
                    + " already holds generation " + newest + " but the consumer group is at generation " + generation
                    + "; the broker forgot the consumer group of an earlier run under this id. Start the run under a new "
                    + TrainerConfig.GROUP_CONFIG + ".");
        }
        LOGGER.warn("Group {}: generation {} is behind generation {} in the model-sync log; forcing a rebalance",
                config.group(), generation, newest);
        in.data().enforceRebalance("generation behind the model-sync log");
        awaitRebalance(new ArrayDeque<>());
    }

    private void startRound() {
        roundStart = new TreeMap<>(trainedNext);
        roundSteps = new ArrayList<>();
        roundSamples = 0;
        batches = 0;
    }

    /**
     * The next batch of the round; at a round's end the round is ended first (contribute, wait, average). Null when
     * the group is through or a stop is requested; {@link TrainingLoop.Abort} when the group rebalances.
     */
    @Override
    public Batch poll(long timeoutMs) {
        while (true) {
            if (stopRequested.getAsBoolean()) {
                return null;
            }
            if (rebalanced) {
                throw new TrainingLoop.Abort(GroupSyncHook.REBALANCING);
            }
            if (batches >= config.groupSyncIntervalSteps() || fetchedAll() && pending.isEmpty()) {
                long e0 = System.nanoTime();
                try {
                    if (!endRound()) {
                        return null;
                    }
                } finally {
                    stats.roundEndNanos += System.nanoTime() - e0;
                }
                continue;
            }
            while (!rebalanced && countExamples() < config.batchSize() && !fetchedAll()) {
                fetch(POLL);
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

    /** The loop's hook for the round's record of a step: its index and the offset segments it trained. */
    void afterStep(TrainingLoop.Progress progress, Batch batch, StepOutcome outcome) {
        steps = progress.steps();
        if (outcome.applied()) {
            roundSamples += batch.size();
        }
        roundSteps.add(new GroupStep(progress.steps() - 1, batch.segments().stream()
                .map(g -> new PartitionRange(in.topic(), g.partition(), g.start(), g.end())).toList()));
    }

    /**
     * Ends the round: contributes, waits for the round of this generation to complete and takes its average, commits
     * the group's offsets, publishes the group state (the first member) and evaluates when due; at the end of an epoch
     * the member's partitions start over.
     *
     * @return true when the next round starts; false when the group is through or a stop was requested while waiting
     * @throws TrainingLoop.Abort when the group rebalanced while the member waited (the round does not count)
     */
    private boolean endRound() {
        if (fetchedAll() && pending.isEmpty()) {
            for (TopicPartition tp : owned) {
                trainedNext.put(tp.partition(), Math.max(trainedNext.get(tp.partition()), in.ranges().get(tp.partition())[1]));
            }
        }
        List<PartitionRange> trained = new ArrayList<>();
        for (TopicPartition tp : owned) {
            trained.add(new PartitionRange(in.topic(), tp.partition(), roundStart.get(tp.partition()),
                    trainedNext.get(tp.partition())));
        }
        long s0 = System.nanoTime();
        sync.contribute(new GroupSync.Contribution(generation, round, me, roundSamples, trained, epoch, roundSteps));
        long w0 = System.nanoTime();
        stats.syncNanos += w0 - s0;
        boolean counted;
        try {
            counted = awaitRound();
        } finally {
            stats.roundWaitNanos += System.nanoTime() - w0;
        }
        if (!counted) {
            return false;
        }
        long l0 = System.nanoTime();
        SyncLog.State after = sync.adopt();
        stats.syncNanos += System.nanoTime() - l0;
        stats.localSamples += roundSamples;
        stats.rounds++;
        commit(after);
        byte[] avg = ModelSyncCodec.toBytes(after.parameters());
        boolean first = me.equals(members.get(0));
        if (first) {
            List<PartitionRange> all = new ArrayList<>();
            for (Map.Entry<Integer, long[]> r : in.ranges().entrySet()) {
                all.add(new PartitionRange(in.topic(), r.getKey(), r.getValue()[0],
                        after.next().getOrDefault(r.getKey(), r.getValue()[0])));
            }
            sync.publishState(generation, me, after, all);
        }
        LOGGER.info("Group {} generation {} round {}: {} members, {} local samples, {} samples in total, "
                + "parameters sha256 {}", config.group(), generation, round, members.size(), roundSamples, after.samples(),
                ModelSyncCodec.sha256Hex(avg));
        boolean last = done(after) && after.epoch() + 1 >= config.epochs();
        // the group's model is the same on every member: the first member of the generation evaluates it (the last
        // evaluation is the run's final one)
        if (config.evalInterval() > 0 && first && steps - lastEval >= config.evalInterval() && !last) {
            evaluate.accept(steps);
            lastEval = steps;
        }
        if (last) {
            completed = true;
            return false;
        }
        if (done(after)) {
            // every partition of the group is through: the next round starts the next epoch
            epoch = after.epoch() + 1;
            for (TopicPartition tp : owned) {
                long begin = in.ranges().get(tp.partition())[0];
                trainedNext.put(tp.partition(), begin);
                in.data().seek(tp, begin);
            }
            in.data().resume(owned);
            LOGGER.info("Group {}: epoch {} of {} done after round {}", config.group(), epoch, config.epochs(), round);
        }
        round++;
        startRound();
        return true;
    }

    /**
     * Waits until the round of this generation completes in the log, taking part in the consumer group meanwhile (a
     * rebalance is noticed; fetched records wait in pending). A member that does not contribute in time is forced out by
     * a rebalance.
     *
     * @return true once the round completed; false when a stop was requested
     * @throws TrainingLoop.Abort when the group rebalanced (after the rebalance happened)
     */
    private boolean awaitRound() {
        long waitUntil = System.currentTimeMillis() + config.groupSyncTimeoutMs();
        boolean forced = false;
        while (sync.state().round() < round || sync.state().generation() != generation) {
            if (stopRequested.getAsBoolean()) {
                return false;
            }
            sync.read(WAIT_POLL);
            if (sync.maxGeneration() > generation || rebalanced) {
                LOGGER.info("Group {} generation {} round {}: abandoned (the group is rebalancing)", config.group(),
                        generation, round);
                awaitRebalance(pending);
                throw new TrainingLoop.Abort(GroupSyncHook.REBALANCING);
            }
            fetch(Duration.ZERO);
            if (!forced && System.currentTimeMillis() > waitUntil) {
                LOGGER.warn("Group {} generation {} round {}: not every member contributed within {} ms; forcing a "
                        + "rebalance", config.group(), generation, round, config.groupSyncTimeoutMs());
                in.data().enforceRebalance("round " + round + " timed out");
                forced = true;
            }
        }
        return true;
    }

    /** Commits the group's next offsets to the consumer group (informational: the model-sync log holds them). */
    private void commit(SyncLog.State after) {
        Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
        for (TopicPartition tp : owned) {
            commit.put(tp, new OffsetAndMetadata(after.next().getOrDefault(tp.partition(), in.ranges().get(tp.partition())[0])));
        }
        in.data().commitAsync(commit, (offsets, e) -> {
            if (e != null) {
                LOGGER.debug("Committing the group's offsets failed (the model-sync log holds them): {}", e.toString());
            }
        });
    }

    /** Polls until the rebalance that was announced has happened; what arrives meanwhile is dropped. */
    private void awaitRebalance(Deque<Item> into) {
        long deadline = System.currentTimeMillis() + config.groupSyncTimeoutMs();
        while (!rebalanced && !stopRequested.getAsBoolean()) {
            fetch(into, POLL);
            if (System.currentTimeMillis() > deadline) {
                in.data().enforceRebalance("a newer generation is in the model-sync log");
                deadline = System.currentTimeMillis() + config.groupSyncTimeoutMs();
            }
        }
    }

    /** Whether the group's state covers every partition's range. */
    private boolean done(SyncLog.State state) {
        for (Map.Entry<Integer, long[]> r : in.ranges().entrySet()) {
            if (state.next().getOrDefault(r.getKey(), r.getValue()[0]) < r.getValue()[1]) {
                return false;
            }
        }
        return true;
    }

    private boolean fetchedAll() {
        for (TopicPartition tp : owned) {
            if (in.data().position(tp) < in.ranges().get(tp.partition())[1]) {
                return false;
            }
        }
        return true;
    }

    private int countExamples() {
        int n = 0;
        for (Item it : pending) {
            if (it.example() != null) {
                n++;
            }
        }
        return n;
    }

    private void fetch(Duration timeout) {
        fetch(pending, timeout);
    }

    /** One poll of the data consumer; records inside the range join {@code into} (unless a rebalance started). */
    private void fetch(Deque<Item> into, Duration timeout) {
        Consumer<byte[], byte[]> data = in.data();
        var records = data.poll(timeout);
        if (rebalanced) {
            into.clear();
            return;
        }
        for (ConsumerRecord<byte[], byte[]> r : records) {
            long end = in.ranges().get(r.partition())[1];
            if (r.offset() >= end) {
                continue;
            }
            into.add(new Item(r.partition(), r.offset(), decode(r)));
        }
        for (TopicPartition tp : data.assignment()) {
            if (!data.paused().contains(tp) && data.position(tp) >= in.ranges().get(tp.partition())[1]) {
                data.pause(List.of(tp));
            }
        }
    }

    /** The record's example; null for a record passed over (a labels-only member's unlabelled one) or dead-lettered. */
    private Example decode(ConsumerRecord<byte[], byte[]> r) {
        try {
            Example e = in.decoder().decode(r);
            return e.skipped() ? null : e; // a labels-only member passes over an unlabelled record: trained past, not on
        } catch (RuntimeException ex) {
            if (FailureDisposition.of(ex) != FailureDisposition.DEAD_LETTER) {
                throw ex;
            }
            in.dlq().publish(in.producer(), r, ex);
            return null;
        }
    }

    /** The next batch from the pending records, or null when they held only dead-lettered ones (consumed). */
    private Batch nextFromPending() {
        List<Item> taken = new ArrayList<>();
        List<Example> examples = new ArrayList<>();
        while (!pending.isEmpty() && examples.size() < config.batchSize()) {
            Item it = pending.poll();
            taken.add(it);
            if (it.example() != null) {
                examples.add(it.example());
            }
        }
        List<Batch.Segment> segments = new ArrayList<>();
        for (Item it : taken) {
            trainedNext.put(it.partition(), it.offset() + 1);
            Batch.Segment.append(segments, it.partition(), it.offset());
        }
        if (examples.isEmpty()) {
            return null;
        }
        Architecture a = in.architecture();
        return BatchAssembler.assemble(in.topic(), epoch, examples, a.inputSize(), a.numClasses(), Cursor.NONE, Map.of(), 0,
                0, segments);
    }
}
