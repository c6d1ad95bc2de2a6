package io.kdstream.trainer.group;

import io.kdstream.avro.GroupStep;
import io.kdstream.avro.ModelSync;
import io.kdstream.avro.PartitionRange;
import io.kdstream.core.KdException;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A trainer group's view of its model-sync log, fed record by record in log order. Every member reads the same log, so
 * every member derives the same {@link State}: the result of the latest completed round. A round of generation g is
 * complete once the contributions of all members of g (named by their join markers) are in the log before any record
 * of a newer generation; contributions that come later never count, so a member that was dropped cannot complete a
 * round the others abandoned.
 */
public final class SyncLog {

    /**
     * The group's committed state.
     *
     * @param generation generation of the round that produced it (-1 for the initial state)
     * @param round      the last completed round (0: none yet)
     * @param parameters the averaged parameters, or null for the initial (seeded) parameters
     * @param next       next offset of every partition trained so far (absent: the start of its range)
     * @param samples    samples averaged in so far
     * @param trained    per member, the ranges its contribution of this round trained
     * @param epoch      the pass over the group's ranges that {@code next} belongs to (from 0)
     * @param contributions what was averaged into this round, in the generation's member order (empty for the
     *                   initial state and one restored from a STATE record)
     */
    public record State(int generation, long round, float[] parameters, Map<Integer, Long> next, long samples,
                        Map<String, List<PartitionRange>> trained, int epoch, List<Contribution> contributions) {
        public State {
            next = Collections.unmodifiableMap(new TreeMap<>(next));
            trained = Map.copyOf(trained);
            contributions = List.copyOf(contributions);
        }

        static State initial() {
            return new State(-1, 0, null, Map.of(), 0, Map.of(), 0, List.of());
        }
    }

    /**
     * A member's counted contribution to a round, without its parameters.
     *
     * @param memberId      the member
     * @param lineage       the member process whose optimizer state it continued
     * @param samples       its weight in the average
     * @param steps         the local steps behind it
     * @param payloadSha256 sha256 of the parameters it sent
     */
    public record Contribution(String memberId, String lineage, long samples, List<GroupStep> steps, String payloadSha256) {
        public Contribution {
            steps = List.copyOf(steps);
        }
    }

    private final String group;
    private final ModelSyncCodec.Assembler assembler = new ModelSyncCodec.Assembler();
    private final Map<Integer, List<String>> members = new HashMap<>();
    private final Map<Integer, Set<String>> joined = new HashMap<>();
    private final Map<Long, Map<String, ModelSyncCodec.Message>> contributions = new HashMap<>();
    private final List<State> completed = new ArrayList<>();
    private int maxGeneration = -1;
    private State state = State.initial();

    public SyncLog(String group) {
        this.group = group;
    }

    /** Feeds the next record of the log; records of other groups are ignored. */
    public void add(ModelSync record) {
        if (!group.equals(record.getGroup())) {
            return;
        }
        if (record.getGeneration() > maxGeneration) {
            maxGeneration = record.getGeneration();
            contributions.clear(); // rounds of older generations can no longer complete
        }
        assembler.add(record).ifPresent(this::apply);
    }

    private void apply(ModelSyncCodec.Message m) {
        switch (m.kind()) {
            case JOIN -> {
                members.putIfAbsent(m.generation(), List.of(new String(m.payload(), StandardCharsets.UTF_8).split("\n")));
                joined.computeIfAbsent(m.generation(), g -> new HashSet<>()).add(m.memberId());
            }
            case CONTRIBUTION -> {
                if (m.generation() < maxGeneration || m.round() <= state.round()) {
                    return;
                }
                Map<String, ModelSyncCodec.Message> round = contributions.computeIfAbsent(m.round(), r -> new HashMap<>());
                round.put(m.memberId(), m);
                List<String> expected = members.get(m.generation());
                if (expected != null && round.keySet().containsAll(expected)) {
                    complete(m.generation(), m.round(), expected, round);
                }
            }
            case STATE -> {
                if (m.round() > state.round()) {
                    Map<Integer, Long> next = new TreeMap<>();
                    m.ranges().forEach(r -> next.put(r.getPartition(), r.getEndOffset()));
                    state = new State(m.generation(), m.round(), ModelSyncCodec.toFloats(m.payload()), next, m.sampleCount(),
                            Map.of(), m.epoch(), List.of());
                }
            }
            default -> throw new IllegalStateException("unknown kind " + m.kind());
        }
    }

    private void complete(int generation, long round, List<String> expected, Map<String, ModelSyncCodec.Message> received) {
        List<ModelAverager.Contribution> parts = new ArrayList<>();
        int epoch = received.get(expected.get(0)).epoch();
        for (String member : expected) {
            if (received.get(member).epoch() != epoch) {
                throw new KdException("Group " + group + " round " + round + ": the members' contributions name epochs "
                        + epoch + " and " + received.get(member).epoch() + "; a round never spans two epochs");
            }
        }
        // a new epoch starts every partition over: those not trained in this round are at the start of their range
        Map<Integer, Long> next = epoch > state.epoch() ? new TreeMap<>() : new TreeMap<>(state.next());
        Map<String, List<PartitionRange>> trained = new HashMap<>();
        List<Contribution> counted = new ArrayList<>();
        long samples = state.samples();
        for (String member : expected) {
            ModelSyncCodec.Message c = received.get(member);
            counted.add(new Contribution(member, c.lineage(), c.sampleCount(), c.steps(), ModelSyncCodec.sha256Hex(c.payload())));
            parts.add(new ModelAverager.Contribution(member, c.sampleCount(), ModelSyncCodec.toFloats(c.payload())));
            c.ranges().forEach(r -> next.put(r.getPartition(), r.getEndOffset()));
            trained.put(member, c.ranges());
            samples += c.sampleCount();
        }
        state = new State(generation, round, ModelAverager.average(parts), next, samples, trained, epoch, counted);
        completed.add(state);
        contributions.keySet().removeIf(r -> r <= round);
    }

    /** The rounds completed since the previous call, in log order (each with what every member trained in it). */
    public List<State> drainCompleted() {
        List<State> out = List.copyOf(completed);
        completed.clear();
        return out;
    }

    public State state() {
        return state;
    }

    /** The newest generation any record of the group named. */
    public int maxGeneration() {
        return maxGeneration;
    }

    /** Whether {@code memberId}'s join marker for {@code generation} has been read. */
    public boolean hasJoined(int generation, String memberId) {
        return joined.getOrDefault(generation, Set.of()).contains(memberId);
    }
}
