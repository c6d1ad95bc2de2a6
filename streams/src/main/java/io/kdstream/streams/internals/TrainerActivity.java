package io.kdstream.streams.internals;

import org.apache.kafka.common.errors.SerializationException;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * What the staleness monitor remembers per trainer.
 *
 * @param runId          run of the trainer's last step
 * @param lastStep       step number of the last step
 * @param lastStepTimeMs event time of the last step, epoch ms
 * @param lastSeenWallMs wall-clock time at the monitor when the last step was processed, epoch ms
 * @param stale          whether a staleness alert is firing for the trainer
 */
public record TrainerActivity(String runId, long lastStep, long lastStepTimeMs, long lastSeenWallMs, boolean stale) {

    private static final byte VERSION = 1;
    private static final int FIXED = 1 + 8 + 8 + 8 + 1 + 4;

    public TrainerActivity {
        Objects.requireNonNull(runId, "runId");
    }

    /** The same activity with the stale flag set to {@code value}. */
    public TrainerActivity withStale(boolean value) {
        return new TrainerActivity(runId, lastStep, lastStepTimeMs, lastSeenWallMs, value);
    }

    /** Binary form for state stores and changelogs. */
    public byte[] toBytes() {
        byte[] run = runId.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(FIXED + run.length).put(VERSION).putLong(lastStep).putLong(lastStepTimeMs)
                .putLong(lastSeenWallMs).put((byte) (stale ? 1 : 0)).putInt(run.length).put(run).array();
    }

    /** Reads {@link #toBytes()}. */
    public static TrainerActivity fromBytes(byte[] bytes) {
        if (bytes == null || bytes.length < FIXED || bytes[0] != VERSION) {
            throw new SerializationException("corrupt TrainerActivity state");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        b.get();
        long step = b.getLong();
        long stepTime = b.getLong();
        long seen = b.getLong();
        boolean stale = b.get() != 0;
        int length = b.getInt();
        if (length != bytes.length - FIXED) {
            throw new SerializationException("corrupt TrainerActivity state: run id length " + length);
        }
        byte[] run = new byte[length];
        b.get(run);
        return new TrainerActivity(new String(run, StandardCharsets.UTF_8), step, stepTime, seen, stale);
    }
}
