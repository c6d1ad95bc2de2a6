package io.kdstream.trainer.internals;

import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.util.List;

/**
 * A batch ready for the training step: flat arrays built off the training thread.
 *
 * @param epoch       epoch the batch belongs to
 * @param size        examples in the batch
 * @param inputs      {@code size × inputSize} model inputs
 * @param labels      class indices
 * @param logits      {@code size × classes} teacher logits, or null without a teacher
 * @param features    per teacher feature, {@code size × featureSize} values, or null
 * @param after       the cursor once this batch is trained
 * @param positions   next offset per partition read so far (for offset commits)
 * @param first       the first record of the batch (for dead-lettering a failed step)
 * @param failures    records dead-lettered by the reader since the previous batch
 * @param decodeNanos time spent decoding this batch's records
 */
public record Batch(int epoch, int size, float[] inputs, int[] labels, float[] logits, List<float[]> features,
                    Cursor after, java.util.Map<Integer, Long> positions, ConsumerRecord<byte[], byte[]> first,
                    int failures, long decodeNanos) {
}
