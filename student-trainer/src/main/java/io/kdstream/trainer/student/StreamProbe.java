package io.kdstream.trainer.student;

import io.kdstream.avro.PartitionRange;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** Reads the first record of a run's offset ranges, to check a student against the stream before training. */
public final class StreamProbe {

    private StreamProbe() {
    }

    /**
     * The value of the first record of the first non-empty range (partitions in the given order), or empty when no
     * range holds a record or none arrives within {@code timeout}. The consumer is assigned and positioned here.
     */
    public static Optional<byte[]> firstValue(Consumer<byte[], byte[]> consumer, List<PartitionRange> ranges, Duration timeout) {
        for (PartitionRange r : ranges) {
            if (r.getEndOffset() <= r.getStartOffset()) {
                continue;
            }
            TopicPartition tp = new TopicPartition(r.getTopic(), r.getPartition());
            consumer.assign(List.of(tp));
            consumer.seek(tp, r.getStartOffset());
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> rec : consumer.poll(Duration.ofMillis(200))) {
                    if (rec.value() != null) {
                        return Optional.of(rec.value());
                    }
                }
            }
            return Optional.empty();
        }
        return Optional.empty();
    }
}
