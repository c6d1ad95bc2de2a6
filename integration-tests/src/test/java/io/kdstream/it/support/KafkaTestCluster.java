package io.kdstream.it.support;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

import java.util.HashMap;
import java.util.Map;

/**
 * A real Kafka cluster in this JVM for integration tests: one KRaft node that is broker and controller at once
 * (KafkaClusterTestKit), configured for a single node (replication 1, no auto topic creation, no rebalance delay).
 * Close it to stop the node and delete its storage.
 *
 * <pre>{@code
 * try (KafkaTestCluster kafka = KafkaTestCluster.start()) {
 *     String bootstrap = kafka.bootstrapServers();
 * }
 * }</pre>
 */
public final class KafkaTestCluster implements AutoCloseable {

    private final KafkaClusterTestKit cluster;

    private KafkaTestCluster(KafkaClusterTestKit cluster) {
        this.cluster = cluster;
    }

    /** Starts a single-node cluster with the default settings. */
    public static KafkaTestCluster start() {
        return start(Map.of());
    }

    /** Starts a single-node cluster; {@code brokerConfig} overrides the defaults. */
    public static KafkaTestCluster start(Map<String, String> brokerConfig) {
        Map<String, String> config = new HashMap<>(defaults());
        config.putAll(brokerConfig);
        KafkaClusterTestKit cluster = null;
        try {
            TestKitNodes nodes = new TestKitNodes.Builder()
                    .setCombined(true)
                    .setNumBrokerNodes(1)
                    .setNumControllerNodes(1)
                    .build();
            KafkaClusterTestKit.Builder builder = new KafkaClusterTestKit.Builder(nodes);
            config.forEach(builder::setConfigProp);
            cluster = builder.build();
            cluster.format();
            cluster.startup();
            cluster.waitForReadyBrokers();
            return new KafkaTestCluster(cluster);
        } catch (Exception e) {
            if (cluster != null) {
                try {
                    cluster.close();
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("cannot start the test Kafka cluster: " + e.getMessage(), e);
        }
    }

    static Map<String, String> defaults() {
        return Map.of(
                "auto.create.topics.enable", "false",
                "offsets.topic.replication.factor", "1",
                "offsets.topic.num.partitions", "4",
                "transaction.state.log.replication.factor", "1",
                "transaction.state.log.min.isr", "1",
                "transaction.state.log.num.partitions", "4",
                "min.insync.replicas", "1",
                "group.initial.rebalance.delay.ms", "0");
    }

    public String bootstrapServers() {
        return cluster.bootstrapServers();
    }

    /** Client properties that reach this cluster. */
    public Map<String, Object> clientProperties() {
        return Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    }

    /** A new admin client; the caller closes it. */
    public Admin admin() {
        return Admin.create(clientProperties());
    }

    @Override
    public void close() {
        try {
            cluster.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while stopping the test Kafka cluster", e);
        } catch (Exception e) {
            throw new IllegalStateException("cannot stop the test Kafka cluster: " + e.getMessage(), e);
        }
    }
}
