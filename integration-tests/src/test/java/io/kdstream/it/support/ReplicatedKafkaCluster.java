package io.kdstream.it.support;

import kafka.server.BrokerServer;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewPartitionReassignment;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.ElectionType;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * A replicated Kafka cluster in this JVM for fault tests: {@code n} brokers and one dedicated KRaft controller
 * (KafkaClusterTestKit), internal topics replicated {@code n} times with {@code min.insync.replicas} and
 * {@code transaction.state.log.min.isr} of {@code n - 1}, so that one broker may be down at any time. A broker is shut
 * down (by default a controlled shutdown: its leaderships move first, it leaves every ISR; see
 * {@link #start(int, Map)} for an abrupt one) and started again on its own log directory.
 */
public final class ReplicatedKafkaCluster implements AutoCloseable {

    private static final Duration WAIT = Duration.ofSeconds(90);

    private final KafkaClusterTestKit cluster;
    private final Admin admin;

    private ReplicatedKafkaCluster(KafkaClusterTestKit cluster) {
        this.cluster = cluster;
        this.admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers(),
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000));
    }

    /** Starts {@code brokers} brokers (at least 2) and one controller. */
    public static ReplicatedKafkaCluster start(int brokers) {
        return start(brokers, Map.of());
    }

    /**
     * Starts {@code brokers} brokers (ids 0 to {@code brokers - 1}, at least 2) and one controller;
     * {@code perBroker} adds settings to single brokers, e.g. {@code controlled.shutdown.enable=false} for one whose
     * shutdown should be abrupt (it leaves without handing its leaderships over; the controller fences it once its
     * heartbeats stop, after {@code broker.session.timeout.ms}, here 4 s).
     */
    public static ReplicatedKafkaCluster start(int brokers, Map<Integer, Map<String, String>> perBroker) {
        if (brokers < 2) {
            throw new IllegalArgumentException("a replicated cluster needs at least 2 brokers, not " + brokers);
        }
        String replicas = Integer.toString(brokers);
        String minIsr = Integer.toString(brokers - 1);
        Map<String, String> config = new HashMap<>();
        config.put("auto.create.topics.enable", "false");
        config.put("min.insync.replicas", minIsr);
        config.put("offsets.topic.replication.factor", replicas);
        config.put("offsets.topic.num.partitions", "3");
        config.put("transaction.state.log.replication.factor", replicas);
        config.put("transaction.state.log.min.isr", minIsr);
        config.put("transaction.state.log.num.partitions", "3");
        config.put("share.coordinator.state.topic.replication.factor", replicas);
        config.put("share.coordinator.state.topic.min.isr", minIsr);
        config.put("group.initial.rebalance.delay.ms", "0");
        config.put("unclean.leader.election.enable", "false");
        // brokers at rest move leaderships back to the preferred replica only when the test asks for it
        config.put("auto.leader.rebalance.enable", "false");
        config.put("broker.heartbeat.interval.ms", "500");
        config.put("broker.session.timeout.ms", "4000");
        KafkaClusterTestKit cluster = null;
        try {
            TestKitNodes nodes = new TestKitNodes.Builder()
                    .setCombined(false)
                    .setNumBrokerNodes(brokers)
                    .setNumControllerNodes(1)
                    .setPerServerProperties(perBroker)
                    .build();
            KafkaClusterTestKit.Builder builder = new KafkaClusterTestKit.Builder(nodes);
            config.forEach(builder::setConfigProp);
            cluster = builder.build();
            cluster.format();
            cluster.startup();
            cluster.waitForReadyBrokers();
            return new ReplicatedKafkaCluster(cluster);
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
            throw new IllegalStateException("cannot start the replicated test Kafka cluster: " + e.getMessage(), e);
        }
    }

    /** Every broker's address, comma-separated. */
    public String bootstrapServers() {
        return cluster.bootstrapServers();
    }

    /** The broker ids, ascending. */
    public List<Integer> brokerIds() {
        return new ArrayList<>(new TreeSet<>(cluster.brokers().keySet()));
    }

    /** Shuts broker {@code id} down (controlled shutdown) and waits until it has stopped. */
    public void shutdownBroker(int id) {
        BrokerServer broker = broker(id);
        broker.shutdown();
        broker.awaitShutdown();
    }

    /** Starts broker {@code id} again on its log directory and waits until it is registered and unfenced. */
    public void startBroker(int id) throws InterruptedException {
        broker(id).startup();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!liveBrokers().contains(id)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("broker " + id + " did not rejoin within " + WAIT);
            }
            Thread.sleep(100);
        }
    }

    /** The ids of the brokers the cluster metadata lists as live. */
    public List<Integer> liveBrokers() {
        try {
            return admin.describeCluster().nodes().get(10, TimeUnit.SECONDS).stream().map(Node::id).sorted().toList();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (Exception e) {
            return List.of();
        }
    }

    /**
     * Leader and in-sync replicas of every partition of {@code topics}, by partition. A request that fails while a
     * broker is going away is tried again for up to 30 s.
     */
    public Map<TopicPartition, TopicPartitionInfo> partitions(Collection<String> topics) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try {
                Map<TopicPartition, TopicPartitionInfo> out = new TreeMap<>(
                        java.util.Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
                for (TopicDescription d : admin.describeTopics(topics).allTopicNames().get(10, TimeUnit.SECONDS).values()) {
                    d.partitions().forEach(p -> out.put(new TopicPartition(d.name(), p.partition()), p));
                }
                return out;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            } catch (Exception e) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("cannot describe " + topics + ": " + e.getMessage(), e);
                }
                sleepBriefly();
            }
        }
    }

    private static void sleepBriefly() {
        try {
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /**
     * Makes {@code broker} the leader of {@code tp}: puts it first in the replica list (same replicas) and runs a
     * preferred-leader election; waits until it leads.
     */
    public void moveLeadership(TopicPartition tp, int broker) throws InterruptedException {
        List<Integer> replicas = new ArrayList<>(partitions(List.of(tp.topic())).get(tp).replicas().stream().map(Node::id).toList());
        if (!replicas.remove(Integer.valueOf(broker))) {
            throw new IllegalArgumentException("broker " + broker + " holds no replica of " + tp + ": " + replicas);
        }
        replicas.add(0, broker);
        try {
            admin.alterPartitionReassignments(Map.of(tp, java.util.Optional.of(new NewPartitionReassignment(replicas))))
                    .all().get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("cannot reorder the replicas of " + tp + ": " + e, e);
        }
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (leaderOf(tp) != broker) {
            try {
                admin.electLeaders(ElectionType.PREFERRED, java.util.Set.of(tp)).all().get(30, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                // ELECTION_NOT_NEEDED once it leads, or the reassignment not applied yet: look again
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("broker " + broker + " did not become the leader of " + tp + " within " + WAIT);
            }
            Thread.sleep(100);
        }
    }

    /** The leader of {@code tp}, or -1 when it has none. */
    public int leaderOf(TopicPartition tp) {
        Node leader = partitions(List.of(tp.topic())).get(tp).leader();
        return leader == null || leader.isEmpty() ? -1 : leader.id();
    }

    /** The in-sync replicas of {@code tp}, ascending. */
    public List<Integer> isrOf(TopicPartition tp) {
        return partitions(List.of(tp.topic())).get(tp).isr().stream().map(Node::id).sorted().toList();
    }

    /**
     * Waits until every partition of {@code topics} and of the internal offsets and transaction-state topics has all
     * its replicas in sync and a leader; returns how long that took.
     */
    public Duration awaitFullIsr(Collection<String> topics) throws InterruptedException {
        List<String> all = new ArrayList<>(topics);
        all.add("__consumer_offsets");
        all.add("__transaction_state");
        long start = System.nanoTime();
        long deadline = start + WAIT.toNanos();
        while (true) {
            boolean full;
            try {
                full = partitions(existing(all)).values().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty()
                        && p.isr().size() == p.replicas().size());
            } catch (IllegalStateException e) {
                full = false;
            }
            if (full) {
                return Duration.ofNanos(System.nanoTime() - start);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("replicas of " + all + " still out of sync after " + WAIT + ": " + partitions(existing(all)));
            }
            Thread.sleep(100);
        }
    }

    private List<String> existing(List<String> topics) {
        try {
            var names = admin.listTopics(new org.apache.kafka.clients.admin.ListTopicsOptions().listInternal(true)).names()
                    .get(30, TimeUnit.SECONDS);
            return topics.stream().filter(names::contains).toList();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (Exception e) {
            throw new IllegalStateException("cannot list topics: " + e.getMessage(), e);
        }
    }

    private BrokerServer broker(int id) {
        BrokerServer broker = cluster.brokers().get(id);
        if (broker == null) {
            throw new IllegalArgumentException("no broker " + id + " in " + cluster.brokers().keySet());
        }
        return broker;
    }

    @Override
    public void close() {
        try {
            admin.close(Duration.ofSeconds(5));
            cluster.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while stopping the test Kafka cluster", e);
        } catch (Exception e) {
            throw new IllegalStateException("cannot stop the test Kafka cluster: " + e.getMessage(), e);
        }
    }
}
