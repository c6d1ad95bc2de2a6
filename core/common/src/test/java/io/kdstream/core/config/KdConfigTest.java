package io.kdstream.core.config;

import io.kdstream.core.kafka.Topics;

import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KdConfigTest {

    @Test
    void shouldDefaultToTheLocalStack() {
        KdConfig config = KdConfig.fromProperties(Map.of());

        assertThat(config.bootstrapServers()).isEqualTo("127.0.0.1:9092");
        assertThat(config.schemaRegistryUrl()).isEqualTo("http://127.0.0.1:8081");
        assertThat(config.topics()).isEqualTo(Topics.defaults());
        assertThat(config.teacherOutputsRetentionMs()).isEqualTo(-1L);
    }

    @Test
    void shouldRejectMoreInsyncReplicasThanReplicasNamingBothKeys() {
        assertThatThrownBy(() -> KdConfig.fromProperties(Map.of("kd.topics.replication.factor", "1", "kd.topics.min.insync.replicas", "2")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("kd.topics.min.insync.replicas=2")
                .hasMessageContaining("kd.topics.replication.factor=1");
        assertThat(KdConfig.fromProperties(Map.of("kd.topics.replication.factor", "3", "kd.topics.min.insync.replicas", "2"))
                .topicMinInsyncReplicas()).isEqualTo(2);
        assertThat(KdConfig.fromProperties(Map.of()).topicMinInsyncReplicas()).isZero();
    }

    @Test
    void shouldRejectBootstrapServerWithoutPort() {
        assertThatThrownBy(() -> KdConfig.fromProperties(Map.of("bootstrap.servers", "localhost")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("bootstrap.servers")
                .hasMessageContaining("host:port");
    }

    @Test
    void shouldRejectRegistryUrlWithUnknownScheme() {
        assertThatThrownBy(() -> KdConfig.fromProperties(Map.of("schema.registry.url", "ftp://x")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("schema.registry.url");
    }

    @Test
    void shouldRejectInvalidTopicName() {
        KdConfig config = KdConfig.fromProperties(Map.of("kd.topic.inputs", "bad name!"));
        assertThatThrownBy(config::topics).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bad name!");
    }

    @Test
    void shouldRejectZeroPartitions() {
        assertThatThrownBy(() -> KdConfig.fromProperties(Map.of("kd.topics.partitions", "0")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("kd.topics.partitions");
    }

    @Test
    void shouldPassClientSecuritySettingsThroughAndKeepKdKeysOut() {
        KdConfig config = KdConfig.fromProperties(Map.of(
                "bootstrap.servers", "broker:9093",
                "security.protocol", "SASL_SSL",
                "sasl.mechanism", "SCRAM-SHA-512",
                "kd.topics.partitions", "8",
                "schema.registry.url", "https://registry:8081",
                "basic.auth.user.info", "u:p"));

        assertThat(config.clientProperties())
                .containsEntry("bootstrap.servers", "broker:9093")
                .containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
                .doesNotContainKeys("kd.topics.partitions", "schema.registry.url", "basic.auth.user.info");
        assertThat(config.serdeProperties())
                .containsEntry("schema.registry.url", "https://registry:8081")
                .containsEntry("basic.auth.user.info", "u:p")
                .doesNotContainKey("security.protocol");
    }

    @Test
    void shouldHideSecretsWhenRedacted() {
        KdConfig config = KdConfig.fromProperties(Map.of(
                "sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"a\" password=\"s3cret\";",
                "ssl.truststore.password", "changeit",
                "basic.auth.user.info", "user:pw"));

        Map<String, String> redacted = config.redacted();

        assertThat(redacted.values()).noneMatch(v -> v.contains("s3cret") || v.contains("changeit") || v.contains("user:pw"));
        assertThat(redacted).containsEntry("sasl.jaas.config", "[hidden]").containsEntry("bootstrap.servers", "127.0.0.1:9092");
    }

    @Test
    void shouldLetEnvironmentOverrideFileAndFlagsOverrideEnvironment(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("client.properties");
        Files.writeString(file, "bootstrap.servers=file:9092\nsecurity.protocol=SSL\nkd.topics.partitions=2\n");
        Map<String, String> env = Map.of(
                "KDSTREAM_BOOTSTRAP_SERVERS", "env:9092",
                "KDSTREAM_KD_TOPICS_PARTITIONS", "6",
                "KDSTREAM_HOME", "/ignored",
                "PATH", "/usr/bin");

        Map<String, String> merged = KdConfigLoader.load(file, env, Map.of("kd.topics.partitions", "12"));

        assertThat(merged)
                .containsEntry("bootstrap.servers", "env:9092")
                .containsEntry("security.protocol", "SSL")
                .containsEntry("kd.topics.partitions", "12")
                .doesNotContainKeys("home", "path");
    }

    @Test
    void shouldMapEnvironmentNamesLikeKafkaImages() {
        assertThat(KdConfigLoader.envToKey("SASL_JAAS_CONFIG")).isEqualTo("sasl.jaas.config");
        assertThat(KdConfigLoader.envToKey("FOO__BAR")).isEqualTo("foo_bar");
        assertThat(KdConfigLoader.envToKey("KD_TOPIC_A___B")).isEqualTo("kd.topic.a-b");
    }

    @Test
    void shouldNameTheMissingConfigFile(@TempDir Path dir) {
        assertThatThrownBy(() -> KdConfigLoader.load(dir.resolve("missing.properties"), Map.of(), Map.of()))
                .hasMessageContaining("missing.properties");
    }
}
