package io.kdstream.teacher.train;

import io.kdstream.core.model.ModelMetadata;

import ai.djl.Model;
import ai.djl.nn.Block;

import java.util.List;
import java.util.Objects;

/**
 * A trained model still in memory, with its draft metadata (test accuracy and training info filled in, not yet
 * hashed) and per-epoch figures. Close it once saved.
 *
 * @param model    the trained model (owns native memory)
 * @param metadata draft metadata to save with it
 * @param epochs   per-epoch figures, in order
 * @param seconds  total wall time of training and evaluation
 */
public record TrainingResult(Model model, ModelMetadata metadata, List<EpochStats> epochs, double seconds)
        implements AutoCloseable {

    public TrainingResult {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(metadata, "metadata");
        epochs = List.copyOf(epochs);
    }

    public Block block() {
        return model.getBlock();
    }

    /** Test accuracy after the last epoch (0 when no epoch ran). */
    public double testAccuracy() {
        return epochs.isEmpty() ? 0 : epochs.get(epochs.size() - 1).testAccuracy();
    }

    @Override
    public void close() {
        model.close();
    }
}
