package io.kdstream.it;

import io.kdstream.avro.DType;
import io.kdstream.avro.InputRecord;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.it.support.KafkaTestCluster;
import io.kdstream.it.support.TestRegistry;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.ops.cli.KdstreamCli;
import io.kdstream.schemas.serde.KdAvroDeserializer;
import io.kdstream.schemas.tensor.TensorCodec;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Arrays;
import java.util.BitSet;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code kdstream ingest fashion-mnist} publishes the whole dataset, exactly once, bit for bit. */
class FashionMnistIngestIT {

    private static KafkaTestCluster kafka;
    private static TestRegistry registry;

    @BeforeAll
    static void startKafkaAndRegistry() {
        kafka = KafkaTestCluster.start();
        registry = TestRegistry.start(kafka.bootstrapServers());
    }

    @AfterAll
    static void stop() throws Exception {
        if (registry != null) {
            registry.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    private static KdConfig config() {
        return KdConfig.fromProperties(Map.of(
                "bootstrap.servers", kafka.bootstrapServers(),
                "schema.registry.url", registry.url(),
                "kd.topics.partitions", "4"));
    }

    @Test
    void shouldPublishEveryImageOnceWithItsLabelAndPixels() throws Exception {
        assumeTrue(Files.isDirectory(FashionMnist.DEFAULT_DIR), "Fashion-MNIST is not installed");
        // Given the topics exist
        KdConfig config = config();
        try (TopicAdmin admin = new TopicAdmin(KafkaClients.admin(config), Duration.ofSeconds(30), true)) {
            admin.ensureTopics(TopicAdmin.catalog(config));
        }
        Map<FashionMnist.Split, FashionMnist> dataset = new EnumMap<>(FashionMnist.Split.class);
        for (FashionMnist.Split split : FashionMnist.Split.values()) {
            dataset.put(split, FashionMnist.load(FashionMnist.DEFAULT_DIR, split));
        }
        int expected = dataset.values().stream().mapToInt(FashionMnist::size).sum();

        // When the CLI ingests both splits
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = KdstreamCli.newCommandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        long start = System.nanoTime();
        int exit = cli.execute("ingest", "fashion-mnist", "--split", "all", "--progress", "none",
                "--bootstrap-server", kafka.bootstrapServers(), "--schema-registry-url", registry.url());
        double ingestSeconds = (System.nanoTime() - start) / 1e9;

        assertThat(exit).as("exit code; stderr: %s", err).isZero();
        assertThat(out.toString()).contains(String.format(java.util.Locale.ROOT, "ingested %,d records", expected));

        // Then reading the topic back (committed records only) gives every image exactly once, bit for bit
        Map<FashionMnist.Split, BitSet> seen = new EnumMap<>(FashionMnist.Split.class);
        dataset.keySet().forEach(s -> seen.put(s, new BitSet()));
        long expectedPixelChecksum = 0;
        for (FashionMnist data : dataset.values()) {
            for (int i = 0; i < data.size(); i++) {
                expectedPixelChecksum += crc(data.image(i));
            }
        }
        long actualPixelChecksum = 0;
        long[] labelCounts = new long[FashionMnist.NUM_CLASSES];
        long[] expectedLabelCounts = new long[FashionMnist.NUM_CLASSES];
        dataset.values().forEach(d -> Arrays.stream(d.labels()).forEach(l -> expectedLabelCounts[l]++));
        int records = 0;
        int duplicates = 0;
        int mismatches = 0;
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null,
                Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5_000));
             KdAvroDeserializer<InputRecord> deserializer = new KdAvroDeserializer<>(InputRecord.class)) {
            deserializer.configure(config.serdeProperties(), false);
            List<TopicPartition> partitions = consumer.partitionsFor(config.topics().inputs()).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp)) && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    records++;
                    InputRecord input = deserializer.deserialize(record.topic(), record.value());
                    String id = input.getId();
                    assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo(id);
                    FashionMnist.Split split = id.startsWith("fmnist-train-") ? FashionMnist.Split.TRAIN : FashionMnist.Split.TEST;
                    int index = Integer.parseInt(id.substring(id.lastIndexOf('-') + 1));
                    FashionMnist data = dataset.get(split);
                    if (seen.get(split).get(index)) {
                        duplicates++;
                    }
                    seen.get(split).set(index);
                    assertThat(input.getSource()).isEqualTo(data.source());
                    assertThat(input.getAttributes()).containsEntry("split", split.id());
                    assertThat(input.getInput().getDtype()).isEqualTo(DType.UINT8);
                    assertThat(input.getInput().getShape()).containsExactly(28, 28);
                    byte[] pixels = TensorCodec.toUint8("input", input.getInput());
                    byte[] original = data.image(index);
                    if (input.getLabel() != data.label(index) || !Arrays.equals(pixels, original)) {
                        mismatches++;
                    }
                    labelCounts[input.getLabel()]++;
                    actualPixelChecksum += crc(pixels);
                }
            }
        }

        assertThat(records).isEqualTo(expected);
        assertThat(duplicates).isZero();
        assertThat(mismatches).isZero();
        for (FashionMnist.Split split : FashionMnist.Split.values()) {
            assertThat(seen.get(split).cardinality()).as("distinct %s ids", split).isEqualTo(dataset.get(split).size());
        }
        assertThat(labelCounts).isEqualTo(expectedLabelCounts);
        assertThat(actualPixelChecksum).as("order-independent pixel checksum").isEqualTo(expectedPixelChecksum);
        System.out.printf("FashionMnistIngestIT: ingested %d records in %.1f s%n", expected, ingestSeconds);
    }

    private static long crc(byte[] bytes) {
        CRC32 crc = new CRC32();
        crc.update(bytes);
        return crc.getValue();
    }
}
