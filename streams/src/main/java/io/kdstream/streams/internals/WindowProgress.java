package io.kdstream.streams.internals;

import java.nio.ByteBuffer;

/**
 * How far the windows of one subject have been published, and the newest event time seen for it.
 *
 * @param closedThrough start of the newest window of the subject that has been closed and published
 *                      ({@link Long#MIN_VALUE} when none): this window and every earlier one receive nothing more
 * @param lastEventMs   newest event time of a record of the subject ({@link Long#MIN_VALUE} when none)
 */
public record WindowProgress(long closedThrough, long lastEventMs) {

    private static final byte VERSION = 1;
    private static final int SIZE = 1 + 8 + 8;

    /** Nothing closed, nothing seen. */
    public static WindowProgress none() {
        return new WindowProgress(Long.MIN_VALUE, Long.MIN_VALUE);
    }

    /** Whether the window starting at {@code windowStart} has been closed. */
    public boolean isClosed(long windowStart) {
        return windowStart <= closedThrough;
    }

    public WindowProgress withClosedThrough(long windowStart) {
        return new WindowProgress(Math.max(closedThrough, windowStart), lastEventMs);
    }

    public WindowProgress withEvent(long timestampMs) {
        return new WindowProgress(closedThrough, Math.max(lastEventMs, timestampMs));
    }

    /** Fixed-layout binary form for state stores and changelogs. */
    public byte[] toBytes() {
        return ByteBuffer.allocate(SIZE).put(VERSION).putLong(closedThrough).putLong(lastEventMs).array();
    }

    /** Reads {@link #toBytes()}. */
    public static WindowProgress fromBytes(byte[] bytes) {
        ByteBuffer b = StateBytes.check(bytes, SIZE, VERSION, "WindowProgress");
        return new WindowProgress(b.getLong(), b.getLong());
    }
}
