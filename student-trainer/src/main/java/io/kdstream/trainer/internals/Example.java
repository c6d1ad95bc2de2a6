package io.kdstream.trainer.internals;

/**
 * One decoded training example, or a record the run passes over on purpose ({@link #skipped()}: an unlabelled record
 * read by a labels-only run), which is neither trained on nor a failure.
 *
 * @param partition  source partition
 * @param offset     source offset
 * @param input      model input, float32 in [0, 1]; null for a skipped record
 * @param label      class index, or {@link InputRecordDecoder#UNLABELLED} for an example without a label
 * @param logits     dense teacher logits, or null when the teacher is not used
 * @param features   teacher feature maps in the order of the decoder's descriptors, or null when unused
 */
public record Example(int partition, long offset, float[] input, int label, float[] logits, float[][] features) {

    /** A record at {@code partition}/{@code offset} that the run passes over without training on it. */
    public static Example skip(int partition, long offset) {
        return new Example(partition, offset, null, InputRecordDecoder.UNLABELLED, null, null);
    }

    /** Whether this is a record passed over on purpose (see {@link #skip}). */
    public boolean skipped() {
        return input == null;
    }
}
