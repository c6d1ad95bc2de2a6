package io.kdstream.trainer.source;

import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Copies decoded examples into the flat arrays of a {@link Batch}. */
public final class BatchAssembler {
    private BatchAssembler() {
    }

    public static Batch assemble(String topic, int epoch, List<Example> examples, int inputSize, int classes, Cursor after,
                          Map<Integer, Long> positions, int failures, long decodeNanos, List<Batch.Segment> segments) {
        int n = examples.size();
        float[] inputs = new float[n * inputSize];
        int[] labels = new int[n];
        boolean withLogits = examples.get(0).logits() != null;
        float[] logits = withLogits ? new float[n * classes] : null;
        float[][] firstFeatures = examples.get(0).features();
        List<float[]> features = null;
        if (firstFeatures != null) {
            features = new ArrayList<>(firstFeatures.length);
            for (float[] f : firstFeatures) {
                features.add(new float[n * f.length]);
            }
        }
        for (int i = 0; i < n; i++) {
            Example e = examples.get(i);
            e.inputInto(inputs, i * inputSize);
            labels[i] = e.label();
            if (withLogits) {
                System.arraycopy(e.logits(), 0, logits, i * classes, classes);
            }
            if (features != null) {
                for (int f = 0; f < features.size(); f++) {
                    float[] src = e.features()[f];
                    System.arraycopy(src, 0, features.get(f), i * src.length, src.length);
                }
            }
        }
        Example head = examples.get(0);
        ConsumerRecord<byte[], byte[]> first = new ConsumerRecord<>(topic, head.partition(), head.offset(), null, null);
        return new Batch(epoch, n, inputs, labels, logits, features, after, new TreeMap<>(positions), first, failures, decodeNanos,
                segments == null ? null : List.copyOf(segments), head.featureDescriptors());
    }
}
