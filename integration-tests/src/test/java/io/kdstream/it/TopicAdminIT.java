package io.kdstream.it;

import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.it.support.KafkaTestCluster;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.ops.admin.TopicSpec;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Topic creation is idempotent, keeps existing topics and warns when they have fewer partitions than configured. */
class TopicAdminIT {

    private static KafkaTestCluster kafka;

    @BeforeAll
    static void startKafka() {
        kafka = KafkaTestCluster.start();
    }

    @AfterAll
    static void stopKafka() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void shouldCreateMissingTopicsKeepExistingOnesAndWarnAboutFewerPartitions() throws Exception {
        // Given a catalog with its own names, one of whose topics already exists with a single partition
        Map<String, String> props = new java.util.HashMap<>();
        props.put("bootstrap.servers", kafka.bootstrapServers());
        for (String key : List.of("inputs", "teacher.outputs", "dlq", "metrics", "eval", "runs", "model.sync", "monitors", "alerts")) {
            props.put("kd.topic." + key, "admin-it." + key.replace('.', '-'));
        }
        props.put("kd.topics.partitions", "3");
        KdConfig config = KdConfig.fromProperties(props);
        try (Admin admin = kafka.admin()) {
            admin.createTopics(List.of(new NewTopic("admin-it.inputs", 1, (short) 1))).all().get();
        }
        List<TopicSpec> catalog = TopicAdmin.catalog(config);

        try (TopicAdmin admin = new TopicAdmin(KafkaClients.admin(config), Duration.ofSeconds(30), true)) {
            // When the catalog is created twice
            TopicAdmin.CreateReport first = admin.ensureTopics(catalog);
            TopicAdmin.CreateReport second = admin.ensureTopics(catalog);

            // Then the first run creates all but the existing topic, which it keeps and warns about
            assertThat(first.existed()).containsExactly("admin-it.inputs");
            assertThat(first.created()).hasSize(catalog.size() - 1).doesNotContain("admin-it.inputs");
            assertThat(first.warnings()).singleElement().asString()
                    .contains("admin-it.inputs").contains("1 partition").contains("3 configured");
            // and the second run creates nothing
            assertThat(second.created()).isEmpty();
            assertThat(second.existed()).hasSize(catalog.size());
            // with the configured settings on the created topics
            assertThat(admin.describeTopics(List.of("admin-it.inputs", "admin-it.runs")))
                    .hasEntrySatisfying("admin-it.inputs", d -> assertThat(d.partitions()).hasSize(1))
                    .hasEntrySatisfying("admin-it.runs", d -> assertThat(d.partitions()).hasSize(3));
            assertThat(admin.topicConfigs(List.of("admin-it.teacher-outputs", "admin-it.runs")))
                    .hasEntrySatisfying("admin-it.teacher-outputs", c -> assertThat(c).containsEntry("retention.ms", "-1"))
                    .hasEntrySatisfying("admin-it.runs", c -> assertThat(c).containsEntry("cleanup.policy", "compact"));
            assertThat(admin.describeTopics(List.of("admin-it.no-such-topic"))).isEmpty();
        }
    }
}
