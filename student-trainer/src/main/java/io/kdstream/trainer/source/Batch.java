package io.kdstream.trainer.source;

import io.kdstream.trainer.loss.FeatureDescriptor;

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
 * @param segments    for online runs, the (partition, start, end) offset ranges the batch was cut from, in batch
 *                    order (the step's ledger entry); null for bounded runs
 * @param featureDescriptors name, stride and shape of each of {@code features} (the teacher's maps the step pairs with
 *                    the student's by stride), or null without features
 */
public record Batch(int epoch, int size, float[] inputs, int[] labels, float[] logits, List<float[]> features,
                    Cursor after, java.util.Map<Integer, Long> positions, ConsumerRecord<byte[], byte[]> first,
                    int failures, long decodeNanos, java.util.List<Segment> segments,
                    List<FeatureDescriptor> featureDescriptors) {

    /** A batch without teacher feature maps. */
    public Batch(int epoch, int size, float[] inputs, int[] labels, float[] logits, List<float[]> features, Cursor after,
                 java.util.Map<Integer, Long> positions, ConsumerRecord<byte[], byte[]> first, int failures,
                 long decodeNanos, java.util.List<Segment> segments) {
        this(epoch, size, inputs, labels, logits, features, after, positions, first, failures, decodeNanos, segments, null);
    }

    /** Examples of the batch that carry a label (the task term is averaged over these; 0 means no task term). */
    public int labelled() {
        int n = 0;
        for (int label : labels) {
            if (label >= 0) {
                n++;
            }
        }
        return n;
    }

    /** A half-open offset range {@code [start, end)} of one partition. */
    public record Segment(int partition, long start, long end) {
        public Segment {
            if (partition < 0 || start < 0 || end <= start) {
                throw new IllegalArgumentException("invalid segment " + partition + ":" + start + "-" + end);
            }
        }

        @Override
        public String toString() {
            return partition + ":" + start + "-" + end;
        }

        /**
         * Adds the record at {@code offset} of {@code partition} to {@code segments}, the segments of a batch in batch
         * order: it extends the last segment when that one is of the same partition and ends at or before the offset
         * (offsets between records, e.g. transaction markers, belong to no record), else it starts a new one.
         */
        public static void append(java.util.List<Segment> segments, int partition, long offset) {
            Segment last = segments.isEmpty() ? null : segments.get(segments.size() - 1);
            if (last != null && last.partition() == partition && offset >= last.end()) {
                segments.set(segments.size() - 1, new Segment(partition, last.start(), offset + 1));
            } else {
                segments.add(new Segment(partition, offset, offset + 1));
            }
        }

        /** Parses {@link #toString()}. */
        public static Segment parse(String s) {
            int colon = s.indexOf(':');
            int dash = s.indexOf('-', colon);
            if (colon <= 0 || dash <= colon) {
                throw new IllegalArgumentException("segment must be PARTITION:START-END, got '" + s + "'");
            }
            return new Segment(Integer.parseInt(s.substring(0, colon)), Long.parseLong(s.substring(colon + 1, dash)),
                    Long.parseLong(s.substring(dash + 1)));
        }
    }
}
