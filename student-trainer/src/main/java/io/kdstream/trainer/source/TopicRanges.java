package io.kdstream.trainer.source;

import io.kdstream.avro.PartitionRange;
import io.kdstream.core.KdException;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/** The offset ranges a run trains: every partition of a topic from its first offset to its end, as of now. */
public final class TopicRanges {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private TopicRanges() {
    }

    /**
     * The current range of every partition of {@code topic}, by partition: start and end offsets as {@code consumer}
     * sees them (with {@code read_committed}, the end is the last stable offset).
     *
     * @throws KdException when the topic does not exist or has no partitions
     */
    public static List<PartitionRange> of(Consumer<byte[], byte[]> consumer, String topic) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, TIMEOUT);
        if (infos == null || infos.isEmpty()) {
            throw new KdException("Topic " + topic + " does not exist or has no partitions; create it with "
                    + "'kdstream topics create' and fill it with the teacher-service first.");
        }
        List<TopicPartition> tps = infos.stream().map(i -> new TopicPartition(topic, i.partition()))
                .sorted(Comparator.comparingInt(TopicPartition::partition)).toList();
        Map<TopicPartition, Long> begin = consumer.beginningOffsets(tps, TIMEOUT);
        Map<TopicPartition, Long> end = consumer.endOffsets(tps, TIMEOUT);
        List<PartitionRange> ranges = new ArrayList<>();
        for (TopicPartition tp : tps) {
            ranges.add(new PartitionRange(topic, tp.partition(), begin.get(tp), end.get(tp)));
        }
        return ranges;
    }

    /** The ranges for a log line: {@code partition:[start,end)} each. */
    public static String describe(List<PartitionRange> ranges) {
        StringBuilder sb = new StringBuilder();
        for (PartitionRange r : ranges) {
            sb.append(r.getPartition()).append(":[").append(r.getStartOffset()).append(',').append(r.getEndOffset()).append(") ");
        }
        return sb.toString().trim();
    }
}
