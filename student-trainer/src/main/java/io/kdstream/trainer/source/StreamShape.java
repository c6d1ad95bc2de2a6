package io.kdstream.trainer.source;

import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * What the stream says about its records.
 *
 * @param inputShape per-example shape of the first decodable record's input tensor
 * @param numClasses length of that record's teacher logits; empty for an {@code InputRecord} or a record without
 *                   logits
 * @param source     where it was read, for messages (topic, partition and offset)
 */
public record StreamShape(List<Integer> inputShape, OptionalInt numClasses, String source) {
    public StreamShape {
        inputShape = List.copyOf(inputShape);
        Objects.requireNonNull(numClasses, "numClasses");
        Objects.requireNonNull(source, "source");
    }
}
