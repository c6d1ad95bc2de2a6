package io.kdstream.it.support;

import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * Produces fixture records to one topic and confirms that each landed exactly once.
 *
 * <p>A send whose future failed may still have been written (a broker can append a batch and the producer then fail
 * it on a later sequence error, which happens while the leaders of a freshly created topic settle). Resending on the
 * future alone would then duplicate records, and a fixture that loses or duplicates a record shows up later as a wrong
 * count far from the cause. So the producer waits until every partition has a leader, sends one request at a time per
 * connection, and after a failed attempt the topic is read back: only the records that are really missing are sent
 * again, and a record found twice fails the test at once with both counts.
 */
public final class ConfirmedSends {
    private static final int ATTEMPTS = 3;
    private static final Duration LEADER_WAIT = Duration.ofSeconds(30);
    /** Identity of a record sent without an explicit partition: matched wherever the partitioner put it. */
    private static final int ANY_PARTITION = -1;

    private ConfirmedSends() {
    }

    /**
     * Sends {@code records} (all to the same topic, no two equal in key and value, with or without an explicit
     * partition) and returns when every one is in the topic exactly once.
     */
    public static void sendAll(KdConfig config, String clientId, List<ProducerRecord<byte[], byte[]>> records)
            throws InterruptedException {
        if (records.isEmpty()) {
            return;
        }
        String topic = records.get(0).topic();
        Map<TopicPartition, Long> startOffsets;
        try {
            startOffsets = endOffsets(config, topic);
        } catch (RuntimeException e) {
            // e.g. a principal allowed to write the topic but not to describe it: sends are still confirmed, but a
            // failed one cannot be told apart from a landed one, so it fails the test instead of being resent
            startOffsets = null;
        }
        List<ProducerRecord<byte[], byte[]>> pending = records;
        for (int attempt = 1; ; attempt++) {
            Exception lastCause = send(config, clientId, topic, pending);
            if (lastCause == null) {
                return;
            }
            if (startOffsets == null) {
                throw new IllegalStateException("a fixture send to " + topic + " failed and the topic cannot be read back "
                        + "to tell which records landed: " + lastCause.getCause(), lastCause);
            }
            List<ProducerRecord<byte[], byte[]>> missing = missing(config, topic, startOffsets, records);
            if (missing.isEmpty()) {
                return;
            }
            if (attempt >= ATTEMPTS) {
                throw new IllegalStateException(missing.size() + " fixture records are still missing from " + topic
                        + " after " + ATTEMPTS + " attempts: " + lastCause.getCause(), lastCause);
            }
            System.err.printf("ConfirmedSends: %d of %d records are missing from %s after a failed send (%s); sending them again%n",
                    missing.size(), records.size(), topic, lastCause.getCause());
            pending = missing;
        }
    }

    /** One attempt; the last send failure, or null when every future completed. */
    private static Exception send(KdConfig config, String clientId, String topic, List<ProducerRecord<byte[], byte[]>> records)
            throws InterruptedException {
        Exception lastCause = null;
        try (Producer<byte[], byte[]> producer = KafkaClients.producer(config, clientId,
                Map.of(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1))) {
            awaitLeaders(producer, topic);
            List<Future<RecordMetadata>> futures = new ArrayList<>(records.size());
            for (ProducerRecord<byte[], byte[]> r : records) {
                futures.add(producer.send(r));
            }
            producer.flush();
            for (Future<RecordMetadata> f : futures) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    lastCause = e;
                }
            }
        }
        return lastCause;
    }

    private static void awaitLeaders(Producer<byte[], byte[]> producer, String topic) throws InterruptedException {
        long deadline = System.nanoTime() + LEADER_WAIT.toNanos();
        while (true) {
            List<PartitionInfo> infos = producer.partitionsFor(topic);
            if (!infos.isEmpty() && infos.stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty())) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("partitions of " + topic + " still lack a leader after " + LEADER_WAIT + ": " + infos);
            }
            Thread.sleep(100);
        }
    }

    private static Map<TopicPartition, Long> endOffsets(KdConfig config, String topic) {
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo p : consumer.partitionsFor(topic, LEADER_WAIT)) {
                tps.add(new TopicPartition(topic, p.partition()));
            }
            return new HashMap<>(consumer.endOffsets(tps, LEADER_WAIT));
        }
    }

    /** The records of {@code expected} not yet in the topic since {@code startOffsets}; fails on a duplicate. */
    private static List<ProducerRecord<byte[], byte[]>> missing(KdConfig config, String topic,
            Map<TopicPartition, Long> startOffsets, List<ProducerRecord<byte[], byte[]>> expected) {
        Map<Identity, Integer> found = new HashMap<>();
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
            Map<TopicPartition, Long> end = consumer.endOffsets(startOffsets.keySet(), LEADER_WAIT);
            consumer.assign(startOffsets.keySet());
            startOffsets.forEach(consumer::seek);
            Set<TopicPartition> open = new HashSet<>();
            end.forEach((tp, e) -> {
                if (e > startOffsets.get(tp)) {
                    open.add(tp);
                }
            });
            long deadline = System.nanoTime() + LEADER_WAIT.toNanos();
            while (!open.isEmpty()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("could not read back " + topic + " up to " + end);
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    found.merge(new Identity(r.partition(), r.key(), r.value()), 1, Integer::sum);
                    found.merge(new Identity(ANY_PARTITION, r.key(), r.value()), 1, Integer::sum);
                }
                open.removeIf(tp -> consumer.position(tp) >= end.get(tp));
            }
        }
        List<ProducerRecord<byte[], byte[]>> missing = new ArrayList<>();
        for (ProducerRecord<byte[], byte[]> r : expected) {
            int partition = r.partition() == null ? ANY_PARTITION : r.partition();
            int n = found.getOrDefault(new Identity(partition, r.key(), r.value()), 0);
            if (n > 1) {
                throw new IllegalStateException("a fixture record is in " + topic + (partition == ANY_PARTITION ? "" : "-" + partition) + " " + n
                        + " times: the broker kept a batch the producer reported as failed");
            }
            if (n == 0) {
                missing.add(r);
            }
        }
        return missing;
    }

    private record Identity(int partition, ByteBuffer key, ByteBuffer value) {
        Identity(int partition, byte[] key, byte[] value) {
            this(partition, key == null ? null : ByteBuffer.wrap(key), ByteBuffer.wrap(value));
        }
    }
}
