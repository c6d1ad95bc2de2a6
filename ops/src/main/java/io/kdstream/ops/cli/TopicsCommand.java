package io.kdstream.ops.cli;

import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.ops.admin.TopicSpec;

import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartitionInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** {@code kdstream topics create|list|describe}. */
@Command(name = "topics", description = "Create and inspect kdstream's topics.", mixinStandardHelpOptions = true,
        subcommands = {TopicsCommand.Create.class, TopicsCommand.ListTopics.class, TopicsCommand.Describe.class})
public final class TopicsCommand {

    static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(30);

    /** Options shared by the topic subcommands. */
    static final class TopicOptions {
        @Option(names = "--partitions", paramLabel = "N",
                description = "Partitions per topic (overrides " + KdConfig.TOPICS_PARTITIONS_CONFIG + ").")
        Integer partitions;

        @Option(names = "--replication-factor", paramLabel = "N",
                description = "Replication factor (overrides " + KdConfig.TOPICS_REPLICATION_FACTOR_CONFIG + ").")
        Short replicationFactor;

        @Option(names = "--retention-ms", paramLabel = "MS",
                description = "retention.ms of topics other than the teacher outputs and runs; -1 = forever (overrides "
                        + KdConfig.TOPICS_RETENTION_MS_CONFIG + ").")
        Long retentionMs;

        @Option(names = "--teacher-outputs-retention-ms", paramLabel = "MS",
                description = "retention.ms of the teacher-outputs topic (overrides "
                        + KdConfig.TOPIC_TEACHER_OUTPUTS_RETENTION_MS_CONFIG + ").")
        Long teacherOutputsRetentionMs;

        Map<String, String> overrides() {
            Map<String, String> out = new TreeMap<>();
            if (partitions != null) {
                out.put(KdConfig.TOPICS_PARTITIONS_CONFIG, partitions.toString());
            }
            if (replicationFactor != null) {
                out.put(KdConfig.TOPICS_REPLICATION_FACTOR_CONFIG, replicationFactor.toString());
            }
            if (retentionMs != null) {
                out.put(KdConfig.TOPICS_RETENTION_MS_CONFIG, retentionMs.toString());
            }
            if (teacherOutputsRetentionMs != null) {
                out.put(KdConfig.TOPIC_TEACHER_OUTPUTS_RETENTION_MS_CONFIG, teacherOutputsRetentionMs.toString());
            }
            return out;
        }
    }

    /** The configuration of a topics subcommand: connection options plus topic flags. */
    static KdConfig config(ConnectionOptions connection, Map<String, String> topicOverrides) {
        Map<String, String> props = new TreeMap<>(connection.properties());
        props.putAll(topicOverrides);
        return KdConfig.fromProperties(props);
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Create the topic catalog (inputs, teacher outputs, dead letters, metrics, eval, runs, model sync, "
                    + "monitors, alerts). Existing topics are kept as they are.",
                "Teacher outputs are kept forever by default (the replay log); runs are compacted (latest manifest per run)."})
    static final class Create implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ConnectionOptions connection;

        @Mixin
        TopicOptions topicOptions;

        @Option(names = "--dry-run", description = "Print the topics that would be created and exit.")
        boolean dryRun;

        @Option(names = "--extra", paramLabel = "TOPIC", split = ",",
                description = "Also create these topics, with the settings of the inputs topic: e.g. a held-out set of "
                        + "InputRecords for trainer.eval.topic (repeatable or comma-separated).")
        List<String> extra = List.of();

        @Override
        public Integer call() {
            KdConfig config = config(connection, topicOptions.overrides());
            List<TopicSpec> specs = new java.util.ArrayList<>(TopicAdmin.catalog(config));
            TopicSpec inputs = specs.stream().filter(t -> t.name().equals(config.topics().inputs())).findFirst()
                    .orElseThrow();
            for (String name : extra) {
                String topic = name.trim();
                if (topic.isEmpty()) {
                    throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--extra: empty topic name");
                }
                if (specs.stream().noneMatch(t -> t.name().equals(topic))) {
                    specs.add(new TopicSpec(topic, inputs.partitions(), inputs.replicationFactor(), inputs.configs()));
                }
            }
            PrintWriter out = spec.commandLine().getOut();
            if (dryRun) {
                specs.forEach(s -> out.println(describeSpec(s)));
                out.flush();
                return 0;
            }
            TopicAdmin.CreateReport report;
            try (TopicAdmin admin = new TopicAdmin(KafkaClients.admin(config), ADMIN_TIMEOUT, true)) {
                report = admin.ensureTopics(specs);
            }
            for (TopicSpec s : specs) {
                String state = report.created().contains(s.name()) ? "created" : "exists ";
                out.println(state + "  " + describeSpec(s));
            }
            out.printf("%d created, %d already existed (%s)%n", report.created().size(), report.existed().size(),
                    config.bootstrapServers());
            out.flush();
            PrintWriter err = spec.commandLine().getErr();
            report.warnings().forEach(w -> err.println("warning: " + w));
            err.flush();
            return 0;
        }
    }

    static String describeSpec(TopicSpec s) {
        String configs = s.configs().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining(","));
        return String.format(java.util.Locale.ROOT, "%-22s partitions=%d replication=%d %s",
                s.name(), s.partitions(), s.replicationFactor(), configs);
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the topics of the cluster.")
    static final class ListTopics implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ConnectionOptions connection;

        @Option(names = "--all", description = "Also list topics that are not in kdstream's catalog.")
        boolean all;

        @Override
        public Integer call() {
            KdConfig config = connection.config();
            Set<String> catalog = TopicAdmin.catalog(config).stream().map(TopicSpec::name)
                    .collect(Collectors.toCollection(java.util.LinkedHashSet::new));
            PrintWriter out = spec.commandLine().getOut();
            try (TopicAdmin admin = new TopicAdmin(KafkaClients.admin(config), ADMIN_TIMEOUT, true)) {
                Set<String> existing = admin.listTopics();
                for (String name : catalog) {
                    out.println((existing.contains(name) ? "present  " : "missing  ") + name);
                }
                if (all) {
                    existing.stream().filter(n -> !catalog.contains(n)).forEach(n -> out.println("other    " + n));
                }
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "describe", mixinStandardHelpOptions = true,
            description = "Describe topics: partitions, leaders, replicas and topic-level configs.")
    static final class Describe implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ConnectionOptions connection;

        @Parameters(paramLabel = "TOPIC", arity = "0..*", description = "Topics to describe (default: the catalog).")
        List<String> topics = new ArrayList<>();

        @Override
        public Integer call() {
            KdConfig config = connection.config();
            List<String> names = topics.isEmpty() ? config.topics().all().stream().distinct().toList() : topics;
            PrintWriter out = spec.commandLine().getOut();
            int missing = 0;
            try (TopicAdmin admin = new TopicAdmin(KafkaClients.admin(config), ADMIN_TIMEOUT, true)) {
                Map<String, TopicDescription> described = admin.describeTopics(names);
                Map<String, Map<String, String>> configs = admin.topicConfigs(List.copyOf(described.keySet()));
                for (String name : names) {
                    TopicDescription d = described.get(name);
                    if (d == null) {
                        out.println(name + ": does not exist");
                        missing++;
                        continue;
                    }
                    out.printf("%s: id=%s partitions=%d replication=%d configs=%s%n", name, d.topicId(),
                            d.partitions().size(),
                            d.partitions().isEmpty() ? 0 : d.partitions().get(0).replicas().size(),
                            configs.getOrDefault(name, Map.of()));
                    for (TopicPartitionInfo p : d.partitions()) {
                        out.printf("  partition %d leader=%s replicas=%s isr=%s%n", p.partition(),
                                p.leader() == null ? "none" : p.leader().idString(),
                                p.replicas().stream().map(n -> n.idString()).toList(),
                                p.isr().stream().map(n -> n.idString()).toList());
                    }
                }
            }
            out.flush();
            return missing == 0 ? 0 : KdstreamCli.EXIT_FAILURE;
        }
    }
}
