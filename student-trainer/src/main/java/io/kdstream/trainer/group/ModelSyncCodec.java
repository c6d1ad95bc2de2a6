package io.kdstream.trainer.group;

import io.kdstream.avro.GroupStep;
import io.kdstream.avro.ModelSync;
import io.kdstream.avro.ModelSyncKind;
import io.kdstream.avro.PartitionRange;
import io.kdstream.core.KdException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Splits a trainer group's message (a member's parameters, the group state, or a join marker) into {@link ModelSync}
 * chunks small enough for the broker, and reassembles them, checking the chunk sequence and the payload's sha256.
 */
public final class ModelSyncCodec {
    private ModelSyncCodec() {
    }

    /**
     * One reassembled message.
     *
     * @param kind        contribution, state or join
     * @param group       trainer group
     * @param generation  consumer-group generation
     * @param round       averaging round
     * @param memberId    sender
     * @param sampleCount samples behind the parameters (the averaging weight of a contribution)
     * @param ranges      offset ranges: of a contribution, what it trained this round; of a state, start and next offset
     *                    of every partition
     * @param payload     the whole payload, sha256-checked
     * @param epoch       the pass over the group's ranges that {@code ranges} belong to (from 0)
     * @param steps       of a contribution: its local steps (step index and batch segments), in order
     * @param lineage     of a contribution: the member process whose optimizer state it continues
     */
    public record Message(ModelSyncKind kind, String group, int generation, long round, String memberId, long sampleCount,
                          List<PartitionRange> ranges, byte[] payload, int epoch, List<GroupStep> steps, String lineage) {
        /** A message of epoch 0 without steps. */
        public Message(ModelSyncKind kind, String group, int generation, long round, String memberId, long sampleCount,
                       List<PartitionRange> ranges, byte[] payload) {
            this(kind, group, generation, round, memberId, sampleCount, ranges, payload, 0);
        }

        /** A message without steps. */
        public Message(ModelSyncKind kind, String group, int generation, long round, String memberId, long sampleCount,
                       List<PartitionRange> ranges, byte[] payload, int epoch) {
            this(kind, group, generation, round, memberId, sampleCount, ranges, payload, epoch, List.of(), "");
        }

        public Message {
            steps = List.copyOf(steps);
            Objects.requireNonNull(lineage, "lineage");
            if (epoch < 0) {
                throw new IllegalArgumentException("epoch must be >= 0");
            }
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(group, "group");
            Objects.requireNonNull(memberId, "memberId");
            ranges = List.copyOf(ranges);
            Objects.requireNonNull(payload, "payload");
            if (sampleCount < 0) {
                throw new IllegalArgumentException("sampleCount must be >= 0");
            }
        }
    }

    /** The chunks of {@code message}, each carrying at most {@code chunkBytes} payload bytes (at least one chunk). */
    public static List<ModelSync> encode(Message message, int chunkBytes) {
        if (chunkBytes < 1) {
            throw new IllegalArgumentException("chunkBytes must be >= 1");
        }
        byte[] payload = message.payload();
        int count = Math.max(1, (payload.length + chunkBytes - 1) / chunkBytes);
        String sha = sha256Hex(payload);
        List<ModelSync> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int from = i * chunkBytes;
            int to = Math.min(payload.length, from + chunkBytes);
            out.add(ModelSync.newBuilder()
                    .setKind(message.kind())
                    .setEpoch(message.epoch())
                    .setSteps(i == 0 ? message.steps() : List.of())
                    .setLineage(message.lineage())
                    .setGroup(message.group())
                    .setGeneration(message.generation())
                    .setRound(message.round())
                    .setMemberId(message.memberId())
                    .setSampleCount(message.sampleCount())
                    .setOffsets(i == 0 ? message.ranges() : List.of())
                    .setChunkIndex(i)
                    .setChunkCount(count)
                    .setTotalBytes(payload.length)
                    .setPayloadSha256(sha)
                    .setChunk(ByteBuffer.wrap(Arrays.copyOfRange(payload, from, to)))
                    .build());
        }
        return out;
    }

    /**
     * Reassembles messages from chunks read in log order (the chunks of one message are written in order to one
     * partition). Not thread-safe.
     */
    public static final class Assembler {
        private final Map<String, Partial> partials = new HashMap<>();

        /**
         * Adds a chunk; returns the message when this chunk completes it.
         *
         * @throws KdException when a chunk is missing or out of order, the chunks disagree, or the payload's sha256
         *                     does not match
         */
        public Optional<Message> add(ModelSync chunk) {
            String key = chunk.getKind() + "/" + chunk.getGeneration() + "/" + chunk.getRound() + "/" + chunk.getMemberId();
            Partial p = partials.get(key);
            if (chunk.getChunkIndex() == 0) {
                if (p != null) {
                    throw new KdException("Model-sync message " + key + " restarted at chunk 0 after " + p.next
                            + " of " + p.first.getChunkCount() + " chunks: chunks are missing");
                }
                if (chunk.getChunkCount() < 1 || chunk.getTotalBytes() < 0 || chunk.getTotalBytes() > Integer.MAX_VALUE) {
                    throw new KdException("Model-sync message " + key + " declares " + chunk.getChunkCount() + " chunks and "
                            + chunk.getTotalBytes() + " bytes");
                }
                p = new Partial(chunk);
                partials.put(key, p);
            } else if (p == null || chunk.getChunkIndex() != p.next) {
                throw new KdException("Model-sync message " + key + ": chunk " + chunk.getChunkIndex() + " of "
                        + chunk.getChunkCount() + " arrived where chunk " + (p == null ? 0 : p.next)
                        + " was expected: a chunk is missing");
            } else if (chunk.getChunkCount() != p.first.getChunkCount() || chunk.getTotalBytes() != p.first.getTotalBytes()
                    || !chunk.getPayloadSha256().equals(p.first.getPayloadSha256())) {
                throw new KdException("Model-sync message " + key + ": chunk " + chunk.getChunkIndex()
                        + " disagrees with chunk 0 on the count, length or sha256 of the payload");
            }
            ByteBuffer data = chunk.getChunk().duplicate();
            if (p.filled + data.remaining() > p.payload.length) {
                partials.remove(key);
                throw new KdException("Model-sync message " + key + " carries more than its declared " + p.payload.length + " bytes");
            }
            int n = data.remaining();
            data.get(p.payload, p.filled, n);
            p.filled += n;
            p.next++;
            if (p.next < p.first.getChunkCount()) {
                return Optional.empty();
            }
            partials.remove(key);
            if (p.filled != p.payload.length) {
                throw new KdException("Model-sync message " + key + " holds " + p.filled + " bytes, declared "
                        + p.payload.length + ": a chunk is missing or short");
            }
            String sha = sha256Hex(p.payload);
            if (!sha.equals(p.first.getPayloadSha256())) {
                throw new KdException("Model-sync message " + key + " fails its sha256 check (declared "
                        + p.first.getPayloadSha256() + ", got " + sha + "): the payload is corrupted");
            }
            ModelSync f = p.first;
            return Optional.of(new Message(f.getKind(), f.getGroup(), f.getGeneration(), f.getRound(), f.getMemberId(),
                    f.getSampleCount(), f.getOffsets(), p.payload, f.getEpoch(), f.getSteps(), f.getLineage()));
        }

        /** Messages begun but not complete (e.g. from a member that died while sending). */
        public int incomplete() {
            return partials.size();
        }

        private static final class Partial {
            final ModelSync first;
            final byte[] payload;
            int filled;
            int next;

            Partial(ModelSync first) {
                this.first = first;
                this.payload = new byte[(int) first.getTotalBytes()];
            }
        }
    }

    /** Little-endian float32 bytes of {@code values}. */
    public static byte[] toBytes(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return b.array();
    }

    /** Inverse of {@link #toBytes(float[])}. */
    public static float[] toFloats(byte[] bytes) {
        if (bytes.length % 4 != 0) {
            throw new KdException("A parameter payload of " + bytes.length + " bytes is not a whole number of float32");
        }
        float[] out = new float[bytes.length / 4];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    public static String sha256Hex(byte[] bytes) {
        try {
            return java.util.HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
