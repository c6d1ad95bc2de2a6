package io.kdstream.core.kafka;

import io.kdstream.core.config.KdConfig;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Builds Kafka clients from a {@link KdConfig}. Clients move raw bytes: stages decode values themselves so that a record
 * that fails to decode still has its original bytes for the dead-letter topic.
 *
 * <p>Pass-through properties are filtered to the keys each client type knows, so one properties file can carry
 * producer, consumer and admin settings (and SASL/SSL settings, which all three share) without warnings.
 */
public final class KafkaClients {
    private KafkaClients() {
    }

    /**
     * An idempotent producer ({@code acks=all}). Overrides win over defaults and pass-through properties; set
     * {@code transactional.id} there for a transactional producer.
     */
    public static Producer<byte[], byte[]> producer(KdConfig config, String clientId, Map<String, Object> overrides) {
        return new KafkaProducer<>(producerProperties(config, clientId, overrides), new ByteArraySerializer(), new ByteArraySerializer());
    }

    public static Map<String, Object> producerProperties(KdConfig config, String clientId, Map<String, Object> overrides) {
        Map<String, Object> props = filter(config.clientProperties(), ProducerConfig.configNames());
        props.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
        props.putIfAbsent(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, 5);
        props.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
        props.putAll(overrides);
        return props;
    }

    /**
     * A consumer that reads committed data only ({@code isolation.level=read_committed}), commits offsets explicitly and
     * starts from the earliest offset when its group has none.
     */
    public static Consumer<byte[], byte[]> consumer(KdConfig config, String groupId, Map<String, Object> overrides) {
        return new KafkaConsumer<>(consumerProperties(config, groupId, overrides), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    public static Map<String, Object> consumerProperties(KdConfig config, String groupId, Map<String, Object> overrides) {
        Map<String, Object> props = filter(config.clientProperties(), ConsumerConfig.configNames());
        props.putIfAbsent(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.putIfAbsent(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.putIfAbsent(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        if (groupId != null) {
            props.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        }
        props.putAll(overrides);
        return props;
    }

    public static Admin admin(KdConfig config) {
        return Admin.create(filter(config.clientProperties(), AdminClientConfig.configNames()));
    }

    private static Map<String, Object> filter(Map<String, Object> props, Set<String> known) {
        Map<String, Object> out = new HashMap<>();
        props.forEach((k, v) -> {
            if (known.contains(k)) {
                out.put(k, v);
            }
        });
        return out;
    }
}
