package io.kdstream.it.support;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/** Reads of whole topics for assertions on exact counts: nothing is asserted before the topic has settled. */
public final class TopicReads {

    private TopicReads() {
    }

    /**
     * Reads {@code topic} (read_committed, from the beginning) until {@code done} holds, then on until the end offsets
     * are reached and no record has come for {@code settle}: a duplicate published after the expected records would
     * be seen. Fails after {@code timeout}.
     */
    public static <T> List<T> readToEnd(Map<String, Object> clientProperties, String topic,
                                        Deserializer<T> deserializer, Predicate<List<T>> done, Duration settle,
                                        Duration timeout) {
        Map<String, Object> props = new HashMap<>(clientProperties);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "topic-reads-" + UUID.randomUUID());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<T> values = new ArrayList<>();
        try (KafkaConsumer<String, T> consumer = new KafkaConsumer<>(props, new StringDeserializer(),
                deserializer)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + timeout.toNanos();
            long lastRecord = System.nanoTime();
            while (!done.test(values) || System.nanoTime() - lastRecord < settle.toNanos() || !atEnd(consumer)) {
                assertThat(System.nanoTime()).as("records on " + topic + " so far: " + values).isLessThan(deadline);
                for (ConsumerRecord<String, T> record : consumer.poll(Duration.ofMillis(200))) {
                    values.add(record.value());
                    lastRecord = System.nanoTime();
                }
            }
        }
        return values;
    }

    private static boolean atEnd(KafkaConsumer<String, ?> consumer) {
        if (consumer.assignment().isEmpty()) {
            return false;
        }
        Map<TopicPartition, Long> ends = consumer.endOffsets(consumer.assignment());
        return ends.entrySet().stream().allMatch(e -> consumer.position(e.getKey()) >= e.getValue());
    }
}
