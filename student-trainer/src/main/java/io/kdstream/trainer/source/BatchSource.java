package io.kdstream.trainer.source;

import java.util.Map;

/** Where the training loop takes its batches from; every implementation reads on its own thread. */
public interface BatchSource extends AutoCloseable {

    /** Returned by {@link #poll(long)} when no batch arrived in time. */
    Batch TIMEOUT = new Batch(-1, 0, new float[0], new int[0], null, null, Cursor.NONE, Map.of(), null, 0,
            0, null);

    /** Starts reading (a reader's thread); nothing to do for a source that reads on the caller's thread. */
    default void start() {
    }

    /** The next batch, null when the source is exhausted, or {@link #TIMEOUT} when none arrived within the timeout. */
    Batch poll(long timeoutMs) throws InterruptedException;

    /** The next batch, or null when the source is exhausted. */
    default Batch take() throws InterruptedException {
        Batch b;
        do {
            b = poll(1_000);
        } while (b == TIMEOUT);
        return b;
    }

    /** The cursor after the last batch (valid once {@link #take()} returned null), or null if unknown (the default). */
    default Cursor endCursor() {
        return null;
    }

    /**
     * Asks the source to commit these next offsets to its consumer group (informational; best effort). The default
     * commits nothing: a replay, or a source whose positions are kept elsewhere (a group member's model-sync log).
     */
    default void requestCommit(Map<Integer, Long> positions) {
    }

    /** Releases what the source holds; the default holds nothing. */
    @Override
    default void close() {
    }
}
