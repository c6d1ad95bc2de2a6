package io.kdstream.core.kafka;

import io.kdstream.core.KdException;
import io.kdstream.core.RetriableKdException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Waits until the leader of every partition of freshly created topics serves it.
 *
 * <p>An idempotent producer that writes to a partition before its leader has applied the creation can lose a batch
 * silently: the first request fails as NOT_LEADER_OR_FOLLOWER, a later one is appended, and every retry of the first
 * then fails with OUT_OF_ORDER_SEQUENCE_NUMBER until its delivery timeout (KAFKA-15591, seen with the 4.3 broker;
 * docs/reliability.md). {@code createTopics} returns once the controller has committed the topic, before the brokers
 * have applied it. A leader that answers a ListOffsets request for a partition has applied it (produce and ListOffsets
 * both need the partition led locally), so a producer started after {@link #await} returns is safe.
 */
public final class NewTopicReadiness {
    private NewTopicReadiness() {
    }

    /**
     * Returns once every partition of {@code topics} has a leader that answers for it.
     *
     * @throws RetriableKdException if that does not happen within {@code timeout}
     */
    public static void await(Admin admin, Collection<String> topics, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<String> pending = new ArrayList<>(topics);
        Map<TopicPartition, OffsetSpec> partitions = new HashMap<>();
        while (!pending.isEmpty()) {
            for (String topic : List.copyOf(pending)) {
                TopicDescription d = describe(admin, topic, deadline);
                if (d != null && !d.partitions().isEmpty()
                        && d.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty())) {
                    d.partitions().forEach(p -> partitions.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
                    pending.remove(topic);
                }
            }
            if (!pending.isEmpty()) {
                if (System.nanoTime() - deadline > 0) {
                    throw new RetriableKdException("partitions of " + pending + " have no leader "
                            + timeout.toSeconds() + " s after their creation");
                }
                sleep(100);
            }
        }
        // the admin client retries NOT_LEADER_OR_FOLLOWER itself until the leaders answer or its timeout passes
        get(admin.listOffsets(partitions, new ListOffsetsOptions().timeoutMs(remainingMs(deadline))).all(), deadline,
                "ask the leaders of " + partitions.size() + " new partitions of " + topics + " for their end offsets");
    }

    private static TopicDescription describe(Admin admin, String topic, long deadline) {
        try {
            return get(admin.describeTopics(List.of(topic), new DescribeTopicsOptions().timeoutMs(remainingMs(deadline)))
                    .topicNameValues().get(topic), deadline, "describe topic " + topic);
        } catch (KdException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return null; // not known to the broker that answered yet
            }
            throw e;
        }
    }

    private static int remainingMs(long deadline) {
        return (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    }

    private static <T> T get(org.apache.kafka.common.KafkaFuture<T> future, long deadline, String what) {
        try {
            return future.get(remainingMs(deadline) + 1_000L, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KdException("interrupted while trying to " + what, e);
        } catch (TimeoutException e) {
            throw new RetriableKdException("timed out trying to " + what, e);
        } catch (ExecutionException e) {
            throw new RetriableKdException("cannot " + what + ": " + e.getCause().getMessage(), e.getCause());
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KdException("interrupted while waiting for new topics' leaders", e);
        }
    }
}
