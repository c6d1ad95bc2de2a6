package io.kdstream.ops.admin;

import org.apache.kafka.clients.admin.NewTopic;

import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A topic to create: name, partitions, replication factor and topic-level configs ({@code retention.ms},
 * {@code cleanup.policy}, ...).
 */
public record TopicSpec(String name, int partitions, short replicationFactor, Map<String, String> configs) {

    public TopicSpec {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty() || name.length() > 249 || !name.matches("[a-zA-Z0-9._-]+") || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("invalid topic name '" + name + "': use 1-249 characters from [a-zA-Z0-9._-]");
        }
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions of " + name + " must be >= 1, was " + partitions);
        }
        if (replicationFactor < 1) {
            throw new IllegalArgumentException("replication factor of " + name + " must be >= 1, was " + replicationFactor);
        }
        configs = Map.copyOf(new TreeMap<>(Objects.requireNonNull(configs, "configs")));
    }

    public NewTopic toNewTopic() {
        return new NewTopic(name, partitions, replicationFactor).configs(configs);
    }
}
