package io.kdstream.streams.internals;

import io.kdstream.avro.RunStatus;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * How a run ended, from its last RunManifest on the runs topic.
 *
 * @param status     FINISHED or FAILED
 * @param endedAtMs  the manifest's end time (the trainer's clock, as its steps' event times), or
 *                   {@link Long#MAX_VALUE} when the manifest has none
 */
public record RunEnd(RunStatus status, long endedAtMs) {

    private static final byte VERSION = 1;
    private static final int SIZE = 1 + 1 + 8;

    public RunEnd {
        Objects.requireNonNull(status, "status");
        if (status == RunStatus.STARTED) {
            throw new IllegalArgumentException("a started run has not ended");
        }
    }

    /** Whether the run finished (rather than failed). */
    public boolean finished() {
        return status == RunStatus.FINISHED;
    }

    /** Whether the run ended no earlier than an event at {@code eventTimeMs} (a step of the run before its end). */
    public boolean endedAfter(long eventTimeMs) {
        return endedAtMs >= eventTimeMs;
    }

    /** Fixed-layout binary form for the state store. */
    public byte[] toBytes() {
        return ByteBuffer.allocate(SIZE).put(VERSION).put((byte) status.ordinal()).putLong(endedAtMs).array();
    }

    /** Reads {@link #toBytes()}. */
    public static RunEnd fromBytes(byte[] bytes) {
        ByteBuffer b = StateBytes.check(bytes, SIZE, VERSION, "RunEnd");
        byte ordinal = b.get();
        RunStatus[] values = RunStatus.values();
        if (ordinal < 0 || ordinal >= values.length || values[ordinal] == RunStatus.STARTED) {
            throw new org.apache.kafka.common.errors.SerializationException("corrupt RunEnd status " + ordinal);
        }
        return new RunEnd(values[ordinal], b.getLong());
    }
}
