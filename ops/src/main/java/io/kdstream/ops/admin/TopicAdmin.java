package io.kdstream.ops.admin;

import io.kdstream.core.KdException;
import io.kdstream.core.RetriableKdException;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.NewTopicReadiness;
import io.kdstream.core.kafka.Topics;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Creates and inspects kdstream's topics.
 *
 * <p>The catalog ({@link #catalog(KdConfig)}): every topic gets {@code kd.topics.partitions} partitions and
 * {@code kd.topics.replication.factor} replicas, so topics that are joined or read side by side stay co-partitioned.
 * Retention:
 * <ul>
 *   <li>teacher outputs: {@code kd.topic.teacher.outputs.retention.ms} (default -1, kept forever): it is the replay log;</li>
 *   <li>run manifests: compacted ({@code cleanup.policy=compact}) and never expired: a run's latest manifest (FINISHED or
 *       FAILED replaces STARTED, same key) is what replay needs, for as long as the teacher outputs exist;</li>
 *   <li>every other topic: {@code kd.topics.retention.ms}.</li>
 * </ul>
 * With {@code kd.topics.min.insync.replicas} above 0 every topic also gets that {@code min.insync.replicas}.
 */
public final class TopicAdmin implements AutoCloseable {
    private static final Logger LOGGER = LoggerFactory.getLogger(TopicAdmin.class);

    private final Admin admin;
    private final Duration timeout;
    private final boolean ownsAdmin;

    /**
     * @param admin     the admin client to use
     * @param timeout   how long each admin call may take
     * @param ownsAdmin whether {@link #close()} closes {@code admin}
     */
    public TopicAdmin(Admin admin, Duration timeout, boolean ownsAdmin) {
        this.admin = Objects.requireNonNull(admin, "admin");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.ownsAdmin = ownsAdmin;
    }

    /** The topics kdstream uses, with the partitions, replication and retention the configuration asks for. */
    public static List<TopicSpec> catalog(KdConfig config) {
        Topics topics = config.topics();
        int partitions = config.topicPartitions();
        short replication = config.topicReplicationFactor();
        Map<String, String> standard = Map.of(TopicConfig.RETENTION_MS_CONFIG, Long.toString(config.topicRetentionMs()));
        Map<String, TopicSpec> specs = new LinkedHashMap<>();
        for (String name : topics.all()) {
            Map<String, String> configs;
            if (name.equals(topics.teacherOutputs()) || name.equals(topics.teacherFeatures())) {
                configs = Map.of(TopicConfig.RETENTION_MS_CONFIG, Long.toString(config.teacherOutputsRetentionMs()));
            } else if (name.equals(topics.runs())) {
                configs = Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                        TopicConfig.RETENTION_MS_CONFIG, "-1");
            } else {
                configs = standard;
            }
            if (config.topicMinInsyncReplicas() > 0) {
                configs = new HashMap<>(configs);
                configs.put(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, Integer.toString(config.topicMinInsyncReplicas()));
            }
            // two catalog entries may share a name (e.g. metrics and eval on one topic): the first wins
            specs.putIfAbsent(name, new TopicSpec(name, partitions, replication, configs));
        }
        return List.copyOf(specs.values());
    }

    /**
     * Creates the topics that do not exist yet; existing ones are left as they are. Never fails because a topic exists.
     *
     * @return which topics were created, which existed, and warnings about existing topics that differ from the spec
     */
    public CreateReport ensureTopics(Collection<TopicSpec> specs) {
        Set<String> existing = listTopics();
        List<TopicSpec> missing = specs.stream().filter(s -> !existing.contains(s.name())).toList();
        List<String> created = new ArrayList<>();
        List<String> existed = new ArrayList<>(specs.stream().map(TopicSpec::name).filter(existing::contains).toList());
        if (!missing.isEmpty()) {
            Map<String, KafkaFuture<Void>> futures = admin.createTopics(
                    missing.stream().map(TopicSpec::toNewTopic).toList(),
                    new CreateTopicsOptions().timeoutMs((int) timeout.toMillis())).values();
            for (TopicSpec spec : missing) {
                try {
                    await(futures.get(spec.name()), "create topic " + spec.name());
                    created.add(spec.name());
                    LOGGER.debug("Created topic name={} partitions={} replicationFactor={} configs={}",
                            spec.name(), spec.partitions(), spec.replicationFactor(), spec.configs());
                } catch (KdException e) {
                    if (e.getCause() instanceof TopicExistsException) {
                        existed.add(spec.name()); // created concurrently by someone else
                    } else {
                        throw e;
                    }
                }
            }
        }
        if (!created.isEmpty()) {
            awaitLeaders(created);
        }
        List<String> warnings = new ArrayList<>();
        if (!existed.isEmpty()) {
            Map<String, TopicDescription> described = describeTopics(existed);
            for (TopicSpec spec : specs) {
                TopicDescription d = described.get(spec.name());
                if (d == null || created.contains(spec.name())) {
                    continue;
                }
                int actual = d.partitions().size();
                if (actual < spec.partitions()) {
                    warnings.add("topic " + spec.name() + " exists with " + actual + " partition(s), fewer than the "
                            + spec.partitions() + " configured (" + KdConfig.TOPICS_PARTITIONS_CONFIG
                            + "): parallelism is limited to " + actual + "; add partitions with kafka-topics --alter");
                }
            }
        }
        return new CreateReport(created, existed, warnings);
    }

    /** Every partition of the new topics led and served before a producer writes to it ({@link NewTopicReadiness}). */
    private void awaitLeaders(Collection<String> topics) {
        NewTopicReadiness.await(admin, topics, timeout);
    }

    /** Names of the topics in the cluster, internal topics excluded, sorted. */
    public Set<String> listTopics() {
        return new TreeSet<>(await(admin.listTopics(new ListTopicsOptions().timeoutMs((int) timeout.toMillis())).names(),
                "list topics"));
    }

    /** Descriptions of the named topics; a topic that does not exist is left out. */
    public Map<String, TopicDescription> describeTopics(Collection<String> names) {
        Map<String, KafkaFuture<TopicDescription>> futures = admin.describeTopics(names,
                new DescribeTopicsOptions().timeoutMs((int) timeout.toMillis())).topicNameValues();
        Map<String, TopicDescription> out = new LinkedHashMap<>();
        for (String name : names) {
            try {
                out.put(name, await(futures.get(name), "describe topic " + name));
            } catch (KdException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                    throw e;
                }
            }
        }
        return out;
    }

    /** Topic-level configs that are set on the topic itself (not broker or default values). */
    public Map<String, Map<String, String>> topicConfigs(Collection<String> names) {
        List<ConfigResource> resources = names.stream().map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList();
        Map<ConfigResource, KafkaFuture<Config>> futures = admin.describeConfigs(resources,
                new DescribeConfigsOptions().timeoutMs((int) timeout.toMillis())).values();
        Map<String, Map<String, String>> out = new LinkedHashMap<>();
        for (ConfigResource r : resources) {
            Config config = await(futures.get(r), "describe configs of " + r.name());
            Map<String, String> set = new LinkedHashMap<>();
            for (ConfigEntry e : config.entries()) {
                if (e.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG) {
                    set.put(e.name(), e.isSensitive() ? "[hidden]" : e.value());
                }
            }
            out.put(r.name(), set);
        }
        return out;
    }

    private <T> T await(KafkaFuture<T> future, String what) {
        try {
            return future.get(timeout.toMillis() + 1_000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KdException("interrupted while trying to " + what, e);
        } catch (TimeoutException e) {
            throw new RetriableKdException("timed out after " + timeout.toMillis() + " ms trying to " + what
                    + " (is the broker reachable?)", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof org.apache.kafka.common.errors.TimeoutException) {
                throw new RetriableKdException("cannot " + what + ": " + cause.getMessage()
                        + " (is the broker reachable? check --bootstrap-server and the security settings)", cause);
            }
            if (cause instanceof RetriableException) {
                throw new RetriableKdException("cannot " + what + ": " + cause.getMessage(), cause);
            }
            throw new KdException("cannot " + what + ": " + cause.getMessage(), cause);
        }
    }

    @Override
    public void close() {
        if (ownsAdmin) {
            admin.close(Duration.ofSeconds(5));
        }
    }

    /** Outcome of {@link #ensureTopics(Collection)}. */
    public record CreateReport(List<String> created, List<String> existed, List<String> warnings) {
        public CreateReport {
            created = List.copyOf(created);
            existed = List.copyOf(existed);
            warnings = List.copyOf(warnings);
        }
    }
}
