package io.kdstream.core.data;

import java.nio.charset.StandardCharsets;

/**
 * Which records keep their label when only a fraction of them may: a fixed function of the record's id and the run's
 * seed, independent of partitioning, arrival order and epoch, so a replay or a resumed run chooses the same records.
 * The ids kept are a pseudo-random sample whose size is close to {@code fraction} of the whole.
 *
 * @param fraction share of records that keep their label, in [0, 1]
 * @param seed     the run's seed
 */
public record LabelSelection(double fraction, long seed) {

    /** Every record keeps its label. */
    public static final LabelSelection ALL = new LabelSelection(1.0, 0);

    public LabelSelection {
        if (!(fraction >= 0 && fraction <= 1)) {
            throw new IllegalArgumentException("label fraction must be in [0, 1], got " + fraction);
        }
    }

    /** Whether the record with this id keeps its label. */
    public boolean keeps(String id) {
        if (fraction >= 1) {
            return true;
        }
        if (fraction <= 0) {
            return false;
        }
        return uniform(id, seed) < fraction;
    }

    /** A value in [0, 1) that looks uniformly distributed over ids and seeds. */
    public static double uniform(String id, long seed) {
        long h = 0xcbf29ce484222325L; // FNV-1a 64 offset basis
        for (byte b : id.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xFF;
            h *= 0x100000001b3L;
        }
        return (mix(h ^ mix(seed + 0x9E3779B97F4A7C15L)) >>> 11) * 0x1.0p-53;
    }

    /** The finaliser of SplitMix64: spreads every input bit over the output. */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
