package io.kdstream.trainer.internals;

/**
 * One decoded training example.
 *
 * @param partition  source partition
 * @param offset     source offset
 * @param input      model input, float32 in [0, 1]
 * @param label      class index
 * @param logits     dense teacher logits, or null when the teacher is not used
 * @param features   teacher feature maps in the order of the decoder's descriptors, or null when unused
 */
public record Example(int partition, long offset, float[] input, int label, float[] logits, float[][] features) {
}
