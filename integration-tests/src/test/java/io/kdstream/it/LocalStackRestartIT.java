package io.kdstream.it;

import io.kdstream.avro.InputRecord;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.ops.admin.TopicSpec;
import io.kdstream.ops.cli.KdstreamCli;
import io.kdstream.ops.stack.LocalStack;
import io.kdstream.schemas.registry.SchemaRegistryClient;
import io.kdstream.schemas.registry.SchemaRegistryClients;
import io.kdstream.schemas.serde.KdAvroDeserializer;

import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/** The local stack keeps topics, records and schema ids across a restart on the same data directory. */
class LocalStackRestartIT {

    private static final int IMAGES = 200;

    private record Snapshot(Map<String, String> records, Set<Integer> schemaIds) {
    }

    private static KdConfig config(LocalStack stack) {
        return KdConfig.fromProperties(Map.of(
                "bootstrap.servers", stack.bootstrapServers(),
                "schema.registry.url", stack.registryUrl(),
                "kd.topics.partitions", "3"));
    }

    private static int cli(String... args) {
        StringWriter err = new StringWriter();
        CommandLine cli = KdstreamCli.newCommandLine();
        cli.setOut(new PrintWriter(new StringWriter(), true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(args);
        assertThat(exit).as("kdstream %s; stderr: %s", String.join(" ", args), err).isZero();
        return exit;
    }

    /** Every record of the inputs topic: id → label, and the schema ids in the record values. */
    private static Snapshot readInputs(KdConfig config) {
        Map<String, String> records = new TreeMap<>();
        Set<Integer> schemaIds = new java.util.TreeSet<>();
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of());
             KdAvroDeserializer<InputRecord> deserializer = new KdAvroDeserializer<>(InputRecord.class)) {
            deserializer.configure(config.serdeProperties(), false);
            List<TopicPartition> partitions = new ArrayList<>();
            consumer.partitionsFor(config.topics().inputs()).forEach(p -> partitions.add(new TopicPartition(p.topic(), p.partition())));
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp)) && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    InputRecord input = deserializer.deserialize(record.topic(), record.value());
                    records.put(input.getId(), String.valueOf(input.getLabel()));
                    schemaIds.add(ByteBuffer.wrap(record.value(), 1, 4).getInt());
                }
            }
        }
        return new Snapshot(records, schemaIds);
    }

    @Test
    void shouldKeepTopicsRecordsAndSchemaIdsAcrossARestart(@TempDir Path dataDir) {
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isDirectory(
                io.kdstream.core.data.FashionMnist.DEFAULT_DIR), "Fashion-MNIST is not installed");
        Schema extra = SchemaBuilder.record("Probe").namespace("io.kdstream.it").fields()
                .requiredString("name").requiredLong("count").endRecord();
        String clusterId;
        int extraId;
        Snapshot before;

        // Given a fresh stack with the topics, some ingested images and an extra registered schema
        try (LocalStack stack = LocalStack.builder().optDataDir(dataDir).optKafkaPort(0).optRegistryPort(0).build().start()) {
            assertThat(stack.freshStorage()).isTrue();
            clusterId = stack.clusterId();
            String[] connection = {"--bootstrap-server", stack.bootstrapServers(), "--schema-registry-url", stack.registryUrl()};
            cli(concat(new String[] {"topics", "create", "--partitions", "3"}, connection));
            cli(concat(new String[] {"ingest", "fashion-mnist", "--split", "test", "--limit", Integer.toString(IMAGES),
                "--progress", "none"}, connection));
            try (SchemaRegistryClient registry = SchemaRegistryClients.create(stack.registryUrl(), Map.of())) {
                extraId = registry.register("probe-value", extra);
            }
            before = readInputs(config(stack));
        }
        assertThat(before.records()).hasSize(IMAGES);
        assertThat(before.schemaIds()).hasSize(1);

        // When the stack starts again on the same data directory (on other ports)
        try (LocalStack stack = LocalStack.builder().optDataDir(dataDir).optKafkaPort(0).optRegistryPort(0).build().start()) {
            KdConfig config = config(stack);

            // Then the cluster, the topics, the records and the schema ids are the same
            assertThat(stack.freshStorage()).isFalse();
            assertThat(stack.clusterId()).isEqualTo(clusterId);
            try (TopicAdmin admin = new TopicAdmin(KafkaClients.admin(config), Duration.ofSeconds(30), true)) {
                assertThat(admin.listTopics()).containsAll(TopicAdmin.catalog(config).stream().map(TopicSpec::name).toList());
                assertThat(admin.describeTopics(List.of(config.topics().inputs())).get(config.topics().inputs())
                        .partitions()).hasSize(3);
                TopicAdmin.CreateReport again = admin.ensureTopics(TopicAdmin.catalog(config));
                assertThat(again.created()).isEmpty();
            }
            Snapshot after = readInputs(config);
            assertThat(after).isEqualTo(before);
            try (SchemaRegistryClient registry = SchemaRegistryClients.create(stack.registryUrl(), Map.of())) {
                assertThat(registry.getById(extraId)).isEqualTo(extra);
                assertThat(registry.idOf("probe-value", extra)).isEqualTo(extraId);
                assertThat(registry.subjects()).contains("probe-value", config.topics().inputs() + "-value");
                assertThat(registry.register(config.topics().inputs() + "-value", InputRecord.getClassSchema()))
                        .isEqualTo(before.schemaIds().iterator().next());
            }
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
