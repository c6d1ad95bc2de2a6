package io.kdstream.ops.demo;

import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;

import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Reads a topic from the beginning to the end offsets seen when reading starts (committed records only) and decodes
 * every value with the Avro serde. Values that do not decode are counted, not dropped silently.
 */
public final class TopicReader {

    private static final Logger LOGGER = LoggerFactory.getLogger(TopicReader.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final KdConfig config;

    /** What was read from one topic. */
    public record Contents<T>(String topic, List<T> records, long undecodable) {
        public Contents {
            Objects.requireNonNull(topic, "topic");
            records = List.copyOf(records);
        }
    }

    public TopicReader(KdConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    public <T extends SpecificRecord> Contents<T> readAll(String topic, Class<T> type) {
        List<T> out = new ArrayList<>();
        long bad = 0;
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of());
             KdAvroSerde<T> serde = KdAvroSerdes.value(type, config.serdeProperties())) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, TIMEOUT);
            if (infos == null || infos.isEmpty()) {
                return new Contents<>(topic, out, 0);
            }
            List<TopicPartition> tps = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps, TIMEOUT);
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (!reachedEnd(consumer, tps, end)) {
                if (System.nanoTime() > deadline) {
                    throw new io.kdstream.core.RetriableKdException("timed out reading " + topic + " to its end offsets " + end);
                }
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    if (r.offset() >= end.get(new TopicPartition(r.topic(), r.partition()))) {
                        continue;
                    }
                    try {
                        T value = serde.deserializer().deserialize(topic, r.value());
                        if (value != null) {
                            out.add(value);
                        }
                    } catch (RuntimeException e) {
                        bad++;
                        LOGGER.debug("Undecodable record topic={} partition={} offset={}: {}", topic, r.partition(),
                                r.offset(), e.toString());
                    }
                }
            }
        }
        if (bad > 0) {
            LOGGER.warn("{} record(s) of {} could not be decoded as {} and are left out of the report", bad, topic,
                    type.getSimpleName());
        }
        return new Contents<>(topic, out, bad);
    }

    /** The partitions of {@code topic}; throws when it does not exist. */
    static List<TopicPartition> partitions(Consumer<byte[], byte[]> consumer, String topic) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
        if (infos == null || infos.isEmpty()) {
            throw new io.kdstream.core.KdException("topic " + topic + " does not exist");
        }
        return infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
    }

    private static boolean reachedEnd(Consumer<byte[], byte[]> consumer, List<TopicPartition> tps,
                                      Map<TopicPartition, Long> end) {
        for (TopicPartition tp : tps) {
            if (consumer.position(tp, TIMEOUT) < end.get(tp)) {
                return false;
            }
        }
        return true;
    }
}
