package io.kdstream.streams.internals;

import java.nio.ByteBuffer;

/**
 * What the loss-ratio monitor remembers per run and trainer between closed windows.
 *
 * @param lastWindowStart start of the last closed window, epoch ms
 * @param ewma            moving average of the ratio, NaN until the first defined ratio
 * @param band            where the last window's ratio lay
 * @param streak          consecutive contiguous windows on the same side outside the band
 * @param firing          the breach an alert is firing for, {@link Band#WITHIN} when none
 */
public record LossRatioState(long lastWindowStart, double ewma, Band band, int streak, Band firing) {

    private static final byte VERSION = 1;
    private static final int SIZE = 1 + 8 + 8 + 1 + 4 + 1;

    /** Where a window's ratio lies relative to the band. */
    public enum Band {
        BELOW, WITHIN, ABOVE, UNDEFINED;

        /** Classifies a ratio (null: undefined). */
        public static Band of(Double ratio, double low, double high) {
            if (ratio == null) {
                return UNDEFINED;
            }
            if (ratio < low) {
                return BELOW;
            }
            return ratio > high ? ABOVE : WITHIN;
        }

        /** Whether the ratio is outside the band. */
        public boolean isBreach() {
            return this == BELOW || this == ABOVE;
        }
    }

    public LossRatioState {
        if (band == null || firing == null || !(firing == Band.WITHIN || firing.isBreach()) || streak < 0) {
            throw new IllegalArgumentException("invalid loss-ratio state: band " + band + ", firing " + firing
                    + ", streak " + streak);
        }
    }

    /** The state before the first window. */
    public static LossRatioState initial() {
        return new LossRatioState(Long.MIN_VALUE, Double.NaN, Band.UNDEFINED, 0, Band.WITHIN);
    }

    /** The moving average, or null before the first defined ratio. */
    public Double ewmaOrNull() {
        return Double.isNaN(ewma) ? null : ewma;
    }

    /** Fixed-layout binary form for state stores and changelogs. */
    public byte[] toBytes() {
        return ByteBuffer.allocate(SIZE).put(VERSION).putLong(lastWindowStart).putDouble(ewma)
                .put((byte) band.ordinal()).putInt(streak).put((byte) firing.ordinal()).array();
    }

    /** Reads {@link #toBytes()}. */
    public static LossRatioState fromBytes(byte[] bytes) {
        ByteBuffer b = StateBytes.check(bytes, SIZE, VERSION, "LossRatioState");
        long start = b.getLong();
        double ewma = b.getDouble();
        Band band = bandAt(b.get());
        int streak = b.getInt();
        Band firing = bandAt(b.get());
        return new LossRatioState(start, ewma, band, streak, firing);
    }

    private static Band bandAt(byte ordinal) {
        Band[] values = Band.values();
        if (ordinal < 0 || ordinal >= values.length) {
            throw new org.apache.kafka.common.errors.SerializationException("corrupt LossRatioState band " + ordinal);
        }
        return values[ordinal];
    }
}
