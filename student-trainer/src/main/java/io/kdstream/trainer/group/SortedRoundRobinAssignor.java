package io.kdstream.trainer.group;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Configurable;
import org.apache.kafka.common.TopicPartition;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Deterministic assignment for trainer groups: partitions sorted by (topic, partition) go round-robin to the members
 * sorted by id. Every member's assignment also carries the sorted member list, so each member knows whom a round of
 * its generation waits for; it is published per consumer {@code client.id} through {@link #membership(String)}.
 */
public final class SortedRoundRobinAssignor implements ConsumerPartitionAssignor, Configurable {
    public static final String NAME = "kd-sorted-round-robin";
    private static final Map<String, Membership> MEMBERSHIPS = new ConcurrentHashMap<>();

    private String clientId = "";

    /** The members of a generation, as this consumer learnt them with its assignment. */
    public record Membership(int generation, String memberId, List<String> members) {
        public Membership {
            members = List.copyOf(members);
        }
    }

    @Override
    public void configure(Map<String, ?> configs) {
        Object id = configs.get(ConsumerConfig.CLIENT_ID_CONFIG);
        clientId = id == null ? "" : id.toString();
    }

    /** The latest membership the consumer with {@code clientId} was assigned. */
    public static Optional<Membership> membership(String clientId) {
        return Optional.ofNullable(MEMBERSHIPS.get(clientId));
    }

    /** Forgets the membership of a closed consumer. */
    public static void forget(String clientId) {
        MEMBERSHIPS.remove(clientId);
    }

    @Override
    public GroupAssignment assign(Cluster metadata, GroupSubscription groupSubscription) {
        Map<String, Subscription> subscriptions = groupSubscription.groupSubscription();
        List<String> members = new ArrayList<>(new TreeSet<>(subscriptions.keySet()));
        TreeSet<String> topics = new TreeSet<>();
        subscriptions.values().forEach(s -> topics.addAll(s.topics()));
        List<TopicPartition> partitions = new ArrayList<>();
        for (String topic : topics) {
            Integer count = metadata.partitionCountForTopic(topic);
            for (int p = 0; count != null && p < count; p++) {
                partitions.add(new TopicPartition(topic, p));
            }
        }
        partitions.sort(Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
        Map<String, List<TopicPartition>> assigned = new HashMap<>();
        members.forEach(m -> assigned.put(m, new ArrayList<>()));
        for (int i = 0; i < partitions.size(); i++) {
            assigned.get(members.get(i % members.size())).add(partitions.get(i));
        }
        byte[] list = String.join("\n", members).getBytes(StandardCharsets.UTF_8);
        Map<String, Assignment> out = new HashMap<>();
        for (String m : members) {
            out.put(m, new Assignment(assigned.get(m), ByteBuffer.wrap(list)));
        }
        return new GroupAssignment(out);
    }

    @Override
    public void onAssignment(Assignment assignment, ConsumerGroupMetadata metadata) {
        ByteBuffer data = assignment.userData();
        List<String> members = List.of();
        if (data != null && data.remaining() > 0) {
            byte[] bytes = new byte[data.remaining()];
            data.duplicate().get(bytes);
            members = List.of(new String(bytes, StandardCharsets.UTF_8).split("\n"));
        }
        MEMBERSHIPS.put(clientId, new Membership(metadata.generationId(), metadata.memberId(), members));
    }

    @Override
    public String name() {
        return NAME;
    }
}
