package io.kdstream.trainer.group;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class SortedRoundRobinAssignorTest {

    private static Cluster cluster(String topic, int partitions) {
        Node node = new Node(0, "localhost", 9092);
        List<PartitionInfo> infos = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            infos.add(new PartitionInfo(topic, p, node, new Node[] {node}, new Node[] {node}));
        }
        return new Cluster("c", List.of(node), infos, Set.of(), Set.of());
    }

    private static ConsumerPartitionAssignor.GroupSubscription subscription(String... members) {
        Map<String, ConsumerPartitionAssignor.Subscription> subs = new HashMap<>();
        for (String m : members) {
            subs.put(m, new ConsumerPartitionAssignor.Subscription(List.of("t")));
        }
        return new ConsumerPartitionAssignor.GroupSubscription(subs);
    }

    @Test
    void shouldDealSortedPartitionsToSortedMembersRoundRobin() {
        SortedRoundRobinAssignor assignor = new SortedRoundRobinAssignor();
        Map<String, ConsumerPartitionAssignor.Assignment> a = assignor.assign(cluster("t", 5), subscription("m-c", "m-a", "m-b"))
                .groupAssignment();
        assertThat(a.get("m-a").partitions()).containsExactly(new TopicPartition("t", 0), new TopicPartition("t", 3));
        assertThat(a.get("m-b").partitions()).containsExactly(new TopicPartition("t", 1), new TopicPartition("t", 4));
        assertThat(a.get("m-c").partitions()).containsExactly(new TopicPartition("t", 2));
    }

    @Test
    @SuppressWarnings("removal") // the consumer builds this metadata itself; a test has only the deprecated constructor
    void shouldTellEachMemberTheSortedMembersOfItsGeneration() {
        SortedRoundRobinAssignor assignor = new SortedRoundRobinAssignor();
        assignor.configure(Map.of(ConsumerConfig.CLIENT_ID_CONFIG, "client-x"));
        var assignment = assignor.assign(cluster("t", 2), subscription("m-b", "m-a")).groupAssignment().get("m-b");
        assignor.onAssignment(assignment, new ConsumerGroupMetadata("g", 7, "m-b", Optional.empty()));
        assertThat(SortedRoundRobinAssignor.membership("client-x")).hasValueSatisfying(m -> {
            assertThat(m.generation()).isEqualTo(7);
            assertThat(m.memberId()).isEqualTo("m-b");
            assertThat(m.members()).containsExactly("m-a", "m-b");
        });
        SortedRoundRobinAssignor.forget("client-x");
        assertThat(SortedRoundRobinAssignor.membership("client-x")).isEmpty();
    }
}
