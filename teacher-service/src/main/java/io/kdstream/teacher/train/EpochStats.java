package io.kdstream.teacher.train;

/**
 * One epoch of training.
 *
 * @param epoch         1-based epoch number
 * @param trainLoss     mean cross-entropy over the epoch's mini-batches
 * @param trainAccuracy accuracy on the training examples, in training mode, as they were seen
 * @param testAccuracy  accuracy on the test split after the epoch (on the held-out validation images when the trainer holds some out)
 * @param seconds       wall time of the epoch including the test pass
 */
public record EpochStats(int epoch, double trainLoss, double trainAccuracy, double testAccuracy, double seconds) {
}
