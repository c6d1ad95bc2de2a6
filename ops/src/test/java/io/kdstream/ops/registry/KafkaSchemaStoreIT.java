package io.kdstream.ops.registry;

import io.kdstream.avro.InputRecord;
import io.kdstream.avro.Tensor;
import io.kdstream.schemas.registry.CompatibilityLevel;
import io.kdstream.schemas.registry.SchemaRegistryClient;
import io.kdstream.schemas.registry.SchemaRegistryClients;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link KafkaSchemaStore} on a real in-process KRaft cluster: ids and settings survive a restart of the store. */
class KafkaSchemaStoreIT {

    private static final Schema SAMPLE = SchemaBuilder.record("Sample").namespace("io.kdstream.test").fields()
            .requiredString("id").endRecord();
    private static final Schema SAMPLE_V2 = SchemaBuilder.record("Sample").namespace("io.kdstream.test").fields()
            .requiredString("id").requiredDouble("weight").endRecord();

    private static KafkaClusterTestKit cluster;

    @BeforeAll
    static void startCluster() throws Exception {
        TestKitNodes nodes = new TestKitNodes.Builder().setCombined(true).setNumBrokerNodes(1)
                .setNumControllerNodes(1).build();
        cluster = new KafkaClusterTestKit.Builder(nodes)
                .setConfigProp("auto.create.topics.enable", "false")
                .setConfigProp("offsets.topic.replication.factor", "1")
                .setConfigProp("transaction.state.log.replication.factor", "1")
                .setConfigProp("transaction.state.log.min.isr", "1")
                .setConfigProp("min.insync.replicas", "1")
                .build();
        cluster.format();
        cluster.startup();
        cluster.waitForReadyBrokers();
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    private KafkaSchemaStore store(String topic) {
        return KafkaSchemaStore.builder().setBootstrapServers(cluster.bootstrapServers()).optTopic(topic)
                .optTimeout(Duration.ofSeconds(30)).build();
    }

    @Test
    void shouldKeepIdsVersionsAndSettingsAcrossRestartOfTheRegistry() throws Exception {
        String topic = "_schemas_" + UUID.randomUUID();
        int inputId;
        int tensorId;
        int sampleId;
        // Given a registry on a Kafka-backed store with a few registrations and a subject-level setting
        try (DevSchemaRegistry registry = new DevSchemaRegistry("127.0.0.1", 0, store(topic)).start();
             SchemaRegistryClient client = SchemaRegistryClients.create(registry.url(), Map.of())) {
            inputId = client.register("kd.inputs-value", InputRecord.getClassSchema());
            tensorId = client.register("kd.inputs-key", Tensor.getClassSchema());
            assertThat(client.register("kd.replay-value", InputRecord.getClassSchema())).isEqualTo(inputId);
            sampleId = client.register("sample", SAMPLE);
            assertThat(client.isCompatible("sample", SAMPLE_V2)).isFalse();
        }
        try (KafkaSchemaStore store = store(topic)) {
            store.start();
            store.setCompatibility("sample", CompatibilityLevel.NONE);
        }

        // When a new registry replays the same topic
        try (DevSchemaRegistry registry = new DevSchemaRegistry("127.0.0.1", 0, store(topic)).start();
             SchemaRegistryClient client = SchemaRegistryClients.create(registry.url(), Map.of())) {

            // Then ids, versions and settings are back, and new ids continue after the old ones
            assertThat(client.getById(inputId)).isEqualTo(InputRecord.getClassSchema());
            assertThat(client.getById(tensorId)).isEqualTo(Tensor.getClassSchema());
            assertThat(client.latest("kd.replay-value").id()).isEqualTo(inputId);
            assertThat(client.idOf("kd.inputs-value", InputRecord.getClassSchema())).isEqualTo(inputId);
            assertThat(client.subjects()).containsExactly("kd.inputs-key", "kd.inputs-value", "kd.replay-value",
                    "sample");
            assertThat(client.isCompatible("sample", SAMPLE_V2)).isTrue();
            int v2 = client.register("sample", SAMPLE_V2);
            assertThat(v2).isGreaterThan(Math.max(inputId, Math.max(tensorId, sampleId)));
            assertThat(client.version("sample", 2).id()).isEqualTo(v2);
            assertThat(client.register("kd.inputs-value", InputRecord.getClassSchema())).isEqualTo(inputId);
        }
    }

    @Test
    void shouldCreateCompactedSinglePartitionTopic() throws Exception {
        String topic = "_schemas_" + UUID.randomUUID();
        try (KafkaSchemaStore store = store(topic)) {
            store.start();
            store.register("s", SAMPLE);
        }

        try (Admin admin = Admin.create(Map.of("bootstrap.servers", cluster.bootstrapServers()))) {
            TopicDescription description = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);

            assertThat(description.partitions()).hasSize(1);
            assertThat(config.get(TopicConfig.CLEANUP_POLICY_CONFIG).value())
                    .isEqualTo(TopicConfig.CLEANUP_POLICY_COMPACT);
        }
    }

    @Test
    void shouldSkipUnusableRecordsWhenReplaying() throws Exception {
        String topic = "_schemas_" + UUID.randomUUID();
        int id;
        try (KafkaSchemaStore store = store(topic)) {
            store.start();
            id = store.register("s", SAMPLE).id();
        }
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                "bootstrap.servers", cluster.bootstrapServers()), new StringSerializer(), new StringSerializer())) {
            producer.send(new ProducerRecord<>(topic, 0, "not json", "{")).get();
            producer.send(new ProducerRecord<>(topic, 0, "{\"keytype\":\"SCHEMA\",\"subject\":\"s\",\"version\":2}",
                    "{\"subject\":\"s\",\"version\":2,\"id\":99,\"schema\":\"{\\\"type\\\":\\\"nope\\\"}\"}")).get();
            producer.send(new ProducerRecord<>(topic, 0, "{\"keytype\":\"NOOP\"}", "{}")).get();
        }

        try (KafkaSchemaStore store = store(topic)) {
            store.start();

            assertThat(store.byId(id)).isEqualTo(SAMPLE);
            assertThat(store.versions("s")).containsExactly(1);
            assertThat(store.register("t", Tensor.getClassSchema()).id()).isGreaterThan(id);
        }
    }
}
