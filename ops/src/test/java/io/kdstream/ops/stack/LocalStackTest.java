package io.kdstream.ops.stack;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LocalStackTest {

    @Test
    void shouldPutTheDataDirUnderKdstreamHomeOrTheUserHome() {
        assertThat(LocalStack.defaultDataDir("/opt/kd", "/home/u")).isEqualTo(Path.of("/opt/kd/local"));
        assertThat(LocalStack.defaultDataDir(null, "/home/u")).isEqualTo(Path.of("/home/u/.kdstream/local"));
        assertThat(LocalStack.defaultDataDir(" ", "/home/u")).isEqualTo(Path.of("/home/u/.kdstream/local"));
    }

    @Test
    void shouldRejectInvalidOrCollidingPorts() {
        assertThatThrownBy(() -> LocalStack.builder().optKafkaPort(70_000).build()).hasMessageContaining("70000");
        assertThatThrownBy(() -> LocalStack.builder().optKafkaPort(9000).optRegistryPort(9000).build())
                .hasMessageContaining("must differ");
        assertThat(LocalStack.builder().optKafkaPort(0).optRegistryPort(0).build()).isNotNull();
    }

    @Test
    void shouldConfigureASingleNodeBrokerOnLoopbackWithoutAutoTopicCreation(@TempDir Path dir) {
        EmbeddedKraftBroker broker = new EmbeddedKraftBroker(dir, 19092, 19093, Map.of("num.io.threads", "2"));

        Map<String, String> config = broker.brokerConfig();

        assertThat(config).containsEntry("process.roles", "broker,controller")
                .containsEntry("listeners", "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093")
                .containsEntry("advertised.listeners", "PLAINTEXT://127.0.0.1:19092")
                .containsEntry("controller.quorum.voters", "1@127.0.0.1:19093")
                .containsEntry("auto.create.topics.enable", "false")
                .containsEntry("offsets.topic.replication.factor", "1")
                .containsEntry("transaction.state.log.replication.factor", "1")
                .containsEntry("transaction.state.log.min.isr", "1")
                .containsEntry("min.insync.replicas", "1")
                .containsEntry("group.initial.rebalance.delay.ms", "0")
                .containsEntry("num.io.threads", "2");
        assertThat(config.get("log.dirs")).startsWith(dir.toAbsolutePath().toString());
        assertThat(broker.bootstrapServers()).isEqualTo("127.0.0.1:19092");
    }

    @Test
    void shouldPickFreePortsForPortZero(@TempDir Path dir) {
        EmbeddedKraftBroker broker = new EmbeddedKraftBroker(dir, 0, 0, Map.of());

        assertThat(broker.brokerPort()).isPositive();
        assertThat(broker.controllerPort()).isPositive().isNotEqualTo(broker.brokerPort());
    }

    @Test
    void shouldReadTheClusterIdOfAFormattedStorage(@TempDir Path dir) throws Exception {
        assertThat(EmbeddedKraftBroker.readClusterId(dir)).isEmpty();

        Files.writeString(dir.resolve("meta.properties"), "version=1\ncluster.id=abcDEF123\nnode.id=1\n");

        assertThat(EmbeddedKraftBroker.readClusterId(dir)).contains("abcDEF123");
    }

    @Test
    void shouldLetOnlyOneStackUseADataDirectoryAtATime(@TempDir Path dir) {
        DataDirLock first = DataDirLock.acquire(dir);
        try {
            assertThatThrownBy(() -> DataDirLock.acquire(dir)).hasMessageContaining("in use");
        } finally {
            first.close();
        }
        DataDirLock.acquire(dir).close();
    }
}
