package io.kdstream.it.support;

import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.ops.admin.TopicSpec;
import io.kdstream.schemas.serde.KdAvroSerdes;

import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/** Topic set-up and whole-topic reads of the ITs that run their own pipeline on a {@link LocalKafka}. */
public final class ItTopics {
    private ItTopics() {
    }

    /**
     * Creates the topic catalog of {@code config} and {@code extra} topics (2 partitions each), and waits until every
     * partition has a leader: producing before that makes idempotent producers retry for a long time.
     */
    public static void createWithLeaders(KdConfig config, String... extra) throws Exception {
        List<TopicSpec> specs = new ArrayList<>(TopicAdmin.catalog(config));
        for (String name : extra) {
            specs.add(new TopicSpec(name, 2, (short) 1, Map.of()));
        }
        // ensureTopics returns once every partition of the topics it created is served by its leader
        try (TopicAdmin admin = new TopicAdmin(KafkaClients.admin(config), Duration.ofSeconds(30), true)) {
            admin.ensureTopics(specs);
        }
    }

    /**
     * Every record of {@code topic} up to its current end, decoded as {@code type}, in partition then offset order
     * (a run's records share a key, so they are on one partition in their order).
     */
    public static <T extends SpecificRecord> List<T> readAll(KdConfig config, String topic, Class<T> type) {
        var deserializer = KdAvroSerdes.value(type, config.serdeProperties()).deserializer();
        List<T> out = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> rec : readRecords(config, topic)) {
            out.add(deserializer.deserialize(topic, rec.value()));
        }
        return out;
    }

    /**
     * Every record of {@code topic} up to its current end (read_committed), in partition then offset order.
     *
     * @throws AssertionError when the end is not reached within 30 s (a partial list would only fail later, on a count)
     */
    public static List<ConsumerRecord<byte[], byte[]>> readRecords(KdConfig config, String topic) {
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo p : consumer.partitionsFor(topic)) {
                tps.add(new TopicPartition(topic, p.partition()));
            }
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps);
            long deadline = System.currentTimeMillis() + 30_000;
            List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
            while (tps.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                if (System.currentTimeMillis() > deadline) {
                    Map<TopicPartition, Long> at = new java.util.TreeMap<>(Comparator.comparingInt(TopicPartition::partition));
                    tps.forEach(tp -> at.put(tp, consumer.position(tp)));
                    throw new AssertionError("Timed out after 30 s reading " + topic + " to its end: read " + records.size()
                            + " records, positions " + at + ", end offsets " + end);
                }
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
            records.sort(Comparator.<ConsumerRecord<byte[], byte[]>>comparingInt(ConsumerRecord::partition)
                    .thenComparingLong(ConsumerRecord::offset));
            return records;
        }
    }
}
