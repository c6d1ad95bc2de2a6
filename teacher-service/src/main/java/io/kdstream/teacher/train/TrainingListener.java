package io.kdstream.teacher.train;

/** Progress of a training run (called on the training thread). */
public interface TrainingListener {

    /** After each mini-batch: examples {@code done} of {@code total} in this epoch, mean loss so far. */
    default void onBatch(int epoch, int epochs, long done, long total, double meanLoss) {
    }

    /** After each epoch, with its mean training loss and accuracy and the test accuracy. */
    default void onEpoch(int epoch, int epochs, double trainLoss, double trainAccuracy, double testAccuracy, double seconds) {
    }
}
