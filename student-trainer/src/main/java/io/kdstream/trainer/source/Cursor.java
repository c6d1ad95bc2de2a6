package io.kdstream.trainer.source;

import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Where the deterministic batch sequence stands: in {@code epoch}, shuffle block {@code block} starts at
 * {@code blockStart} (next offset per partition) with round-robin pointer {@code roundRobin}, and its first
 * {@code skip} examples (after the block's permutation) are already trained. Resuming re-reads the block from
 * {@code blockStart}, re-derives the same permutation and skips those examples, so no record is trained twice.
 */
public record Cursor(int epoch, long block, Map<Integer, Long> blockStart, int roundRobin, int skip) {

    public Cursor {
        Objects.requireNonNull(blockStart, "blockStart");
        blockStart = java.util.Collections.unmodifiableMap(new TreeMap<>(blockStart));
        if (epoch < 0 || block < 0 || roundRobin < 0 || skip < 0) {
            throw new IllegalArgumentException("cursor fields must be >= 0");
        }
    }

    /**
     * No position: the cursor of marker batches (a poll's timeout, a reader's end) and of a source whose positions are
     * kept elsewhere (a group member resumes from the model-sync log).
     */
    public static final Cursor NONE = new Cursor(0, 0, Map.of(), 0, 0);

    /** The start of {@code epoch}: block 0 at the range starts. */
    public static Cursor startOf(int epoch, Map<Integer, Long> rangeStarts) {
        return new Cursor(epoch, 0, rangeStarts, 0, 0);
    }
}
