package io.kdstream.ops.cli;

import io.kdstream.core.config.KdConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConnectionOptionsTest {

    @Command(name = "probe")
    static final class Probe {
        @Mixin
        ConnectionOptions connection;
    }

    private static ConnectionOptions parse(String... args) {
        Probe probe = new Probe();
        new CommandLine(probe).parseArgs(args);
        return probe.connection;
    }

    @Test
    void shouldDefaultToTheLocalStackWithoutFlagsFileOrEnvironment() {
        KdConfig config = parse().config(Map.of());

        assertThat(config.bootstrapServers()).isEqualTo("127.0.0.1:9092");
        assertThat(config.schemaRegistryUrl()).isEqualTo("http://127.0.0.1:8081");
        assertThat(config.clientProperties()).containsOnlyKeys("bootstrap.servers");
    }

    @Test
    void shouldTakeBootstrapServerAndRegistryFromFlags() {
        KdConfig config = parse("--bootstrap-server", "broker-1:9093,broker-2:9093",
                "--schema-registry-url", "https://registry:8443").config(Map.of());

        assertThat(config.bootstrapServers()).isEqualTo("broker-1:9093,broker-2:9093");
        assertThat(config.schemaRegistryUrl()).isEqualTo("https://registry:8443");
    }

    @Test
    void shouldPassEveryClientPropertyOfTheConfigFileThrough(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("client.properties");
        Files.writeString(file, String.join("\n",
                "bootstrap.servers=secure-broker:9094",
                "security.protocol=SASL_SSL",
                "sasl.mechanism=PLAIN",
                "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"p\";",
                "ssl.truststore.location=/etc/kafka/truststore.jks",
                "schema.registry.url=https://registry.example:8081",
                "basic.auth.credentials.source=USER_INFO",
                "kd.topics.partitions=12"));

        KdConfig config = parse("--config", file.toString()).config(Map.of());

        assertThat(config.bootstrapServers()).isEqualTo("secure-broker:9094");
        assertThat(config.clientProperties())
                .containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("sasl.mechanism", "PLAIN")
                .containsEntry("ssl.truststore.location", "/etc/kafka/truststore.jks")
                .containsKey("sasl.jaas.config")
                .doesNotContainKeys("schema.registry.url", "kd.topics.partitions", "basic.auth.credentials.source");
        assertThat(config.serdeProperties())
                .containsEntry("schema.registry.url", "https://registry.example:8081")
                .containsEntry("basic.auth.credentials.source", "USER_INFO");
        assertThat(config.topicPartitions()).isEqualTo(12);
    }

    @Test
    void shouldLetFlagsWinOverEnvironmentAndEnvironmentOverTheFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("client.properties");
        Files.writeString(file, "bootstrap.servers=from-file:9092\nschema.registry.url=http://from-file:8081\n"
                + "security.protocol=SSL\n");
        Map<String, String> env = Map.of(
                "KDSTREAM_BOOTSTRAP_SERVERS", "from-env:9092",
                "KDSTREAM_SCHEMA_REGISTRY_URL", "http://from-env:8081");

        KdConfig envOverFile = parse("--config", file.toString()).config(env);
        KdConfig flagOverEnv = parse("--config", file.toString(), "--bootstrap-server", "from-flag:9092").config(env);

        assertThat(envOverFile.bootstrapServers()).isEqualTo("from-env:9092");
        assertThat(envOverFile.schemaRegistryUrl()).isEqualTo("http://from-env:8081");
        assertThat(envOverFile.clientProperties()).containsEntry("security.protocol", "SSL");
        assertThat(flagOverEnv.bootstrapServers()).isEqualTo("from-flag:9092");
        assertThat(flagOverEnv.schemaRegistryUrl()).isEqualTo("http://from-env:8081");
    }

    @Test
    void shouldAcceptKafkaToolsSpellingsOfTheOptions() {
        assertThat(parse("--bootstrap-servers", "a:1").config(Map.of()).bootstrapServers()).isEqualTo("a:1");
        assertThat(parse("--command-config", "x.properties").configFile).isEqualTo(Path.of("x.properties"));
    }

    @Test
    void shouldRejectAMissingConfigFileWithItsPath(@TempDir Path dir) {
        Path missing = dir.resolve("nope.properties");

        assertThatThrownBy(() -> parse("--config", missing.toString()).config(Map.of()))
                .hasMessageContaining(missing.toString());
    }

    @Test
    void shouldRejectAMalformedBootstrapServer() {
        assertThatThrownBy(() -> parse("--bootstrap-server", "no-port").config(Map.of()))
                .hasMessageContaining("bootstrap.servers");
    }
}
