package io.kdstream.core.kafka;

import io.kdstream.core.config.KdConfig;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class KafkaClientsTest {

    private final KdConfig config = KdConfig.fromProperties(Map.of(
            "bootstrap.servers", "b:9092",
            "security.protocol", "SASL_SSL",
            "isolation.level", "read_uncommitted",
            "linger.ms", "20",
            "kd.topics.partitions", "3"));

    @Test
    void shouldGiveConsumersReadCommittedAndManualCommitByDefault() {
        KdConfig plain = KdConfig.fromProperties(Map.of());
        Map<String, Object> props = KafkaClients.consumerProperties(plain, "g", Map.of());

        assertThat(props)
                .containsEntry("isolation.level", "read_committed")
                .containsEntry("enable.auto.commit", false)
                .containsEntry("group.id", "g")
                .containsEntry("bootstrap.servers", "127.0.0.1:9092");
    }

    @Test
    void shouldKeepOnlyKeysEachClientKnows() {
        Map<String, Object> producer = KafkaClients.producerProperties(config, "p", Map.of());
        Map<String, Object> consumer = KafkaClients.consumerProperties(config, "g", Map.of());

        assertThat(producer).containsEntry("linger.ms", "20").containsEntry("security.protocol", "SASL_SSL")
                .doesNotContainKeys("isolation.level", "kd.topics.partitions");
        assertThat(consumer).containsEntry("isolation.level", "read_uncommitted").containsEntry("security.protocol", "SASL_SSL")
                .doesNotContainKeys("linger.ms", "kd.topics.partitions");
    }

    @Test
    void shouldLetOverridesWin() {
        Map<String, Object> producer = KafkaClients.producerProperties(config, "p", Map.of("transactional.id", "t-1", "linger.ms", 0));

        assertThat(producer).containsEntry("transactional.id", "t-1").containsEntry("linger.ms", 0)
                .containsEntry("enable.idempotence", true).containsEntry("acks", "all");
    }
}
