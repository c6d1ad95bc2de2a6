package io.kdstream.trainer.source;

/**
 * One decoded training example, or a record the run passes over on purpose ({@link #skipped()}: an unlabelled record
 * read by a labels-only run), which is neither trained on nor a failure.
 *
 * @param partition  source partition
 * @param offset     source offset
 * @param input      model input, float32 in [0, 1]; null for a skipped record or when {@code pixels} holds it
 * @param pixels     model input as the record's own UINT8 bytes (scaled to [0, 1] only when the batch is assembled:
 *                   one pass from the record's bytes into the batch), or null
 * @param label      class index, or {@link InputRecordDecoder#UNLABELLED} for an example without a label
 * @param logits     dense teacher logits, or null when the teacher is not used
 * @param features   teacher feature maps in the order of {@code featureDescriptors}, or null when unused
 * @param featureDescriptors name, stride and shape of each of {@code features}, or null when unused
 */
public record Example(int partition, long offset, float[] input, java.nio.ByteBuffer pixels, int label, float[] logits,
                      float[][] features, java.util.List<io.kdstream.trainer.loss.FeatureDescriptor> featureDescriptors) {

    /** An example without teacher feature maps. */
    public Example(int partition, long offset, float[] input, java.nio.ByteBuffer pixels, int label, float[] logits) {
        this(partition, offset, input, pixels, label, logits, null, null);
    }

    /** A record at {@code partition}/{@code offset} that the run passes over without training on it. */
    public static Example skip(int partition, long offset) {
        return new Example(partition, offset, null, null, InputRecordDecoder.UNLABELLED, null);
    }

    /** Whether this is a record passed over on purpose (see {@link #skip}). */
    public boolean skipped() {
        return input == null && pixels == null;
    }

    /** Writes the model input (float32 in [0, 1]) into {@code dst} at {@code offset}. */
    public void inputInto(float[] dst, int offset) {
        if (pixels != null) {
            io.kdstream.core.djl.TensorBridge.unitInto(pixels, dst, offset);
        } else {
            System.arraycopy(input, 0, dst, offset, input.length);
        }
    }
}
