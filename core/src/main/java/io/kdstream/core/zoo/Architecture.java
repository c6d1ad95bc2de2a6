package io.kdstream.core.zoo;

import java.util.List;

/**
 * A model architecture of the zoo: its input and output contract and a factory of fresh (uninitialised) blocks.
 * The block's forward returns an NDList of the logits followed by one array per {@link #features() feature}, in the
 * declared order; every array has the batch as its first axis.
 */
public interface Architecture {

    /** Stable name stored in model metadata, e.g. {@code fmnist-cnn-teacher}. */
    String name();

    /** Per-example input shape, e.g. {@code [1, 28, 28]}; inputs are float32 in [0, 1]. */
    List<Integer> inputShape();

    int numClasses();

    /** Named feature outputs, in the order the block returns them after the logits. */
    List<FeatureSpec> features();

    /** A new, uninitialised block. */
    FeatureBlock newBlock();

    /**
     * True when a new block is a loaded module (TorchScript) that brings its own parameter values and may draw random
     * numbers in its forward (dropout): a trainer then keeps the values instead of drawing seeded initial ones, and
     * seeds the engine's generator before every training forward so that a replay stays deterministic.
     */
    default boolean loadedModule() {
        return false;
    }

    /** Elements per example of the input. */
    default int inputSize() {
        int n = 1;
        for (int d : inputShape()) {
            n *= d;
        }
        return n;
    }
}
