package io.kdstream.it;

import io.kdstream.avro.InputRecord;
import io.kdstream.it.support.KafkaTestCluster;
import io.kdstream.it.support.TestRegistry;
import io.kdstream.ops.cli.KdstreamCli;
import io.kdstream.schemas.serde.KdAvroSerializer;
import io.kdstream.schemas.tensor.TensorCodec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code kdstream consume} prints committed records as JSON lines and undecodable ones as error lines. */
class ConsumeCommandIT {

    private static final String TOPIC = "consume-it.inputs";
    private static final ObjectMapper JSON = new ObjectMapper();

    private static KafkaTestCluster kafka;
    private static TestRegistry registry;

    @BeforeAll
    static void start() throws Exception {
        kafka = KafkaTestCluster.start();
        registry = TestRegistry.start(kafka.bootstrapServers());
        try (Admin admin = kafka.admin()) {
            admin.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1))).all().get();
        }
    }

    @AfterAll
    static void stop() {
        if (registry != null) {
            registry.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    private static byte[] input(String id) {
        InputRecord record = InputRecord.newBuilder()
                .setId(id)
                .setSource("consume-it")
                .setInput(TensorCodec.fromUint8(new byte[] {1, 2, 3, 4, 5, 6}, 2, 3))
                .setLabel(4)
                .setTimestampMs(Instant.parse("2024-01-01T00:00:00Z"))
                .build();
        try (KdAvroSerializer<InputRecord> serializer = new KdAvroSerializer<>()) {
            serializer.configure(Map.of("schema.registry.url", registry.url()), false);
            return serializer.serialize(TOPIC, record);
        }
    }

    @Test
    void shouldPrintCommittedRecordsAndAnErrorLineForUndecodableOnes() throws Exception {
        // Given a good record, a record that is not Avro, an aborted transactional record and a committed one
        Map<String, Object> props = Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, "consume-it");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(TOPIC, bytes("good-1"), input("good-1")));
            producer.send(new ProducerRecord<>(TOPIC, bytes("garbage"), bytes("{\"not\":\"avro\"}")));
            producer.commitTransaction();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(TOPIC, bytes("aborted"), input("aborted")));
            producer.flush();
            producer.abortTransaction();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(TOPIC, bytes("good-2"), input("good-2")));
            producer.commitTransaction();
        }

        // When consume reads the topic from the beginning
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = KdstreamCli.newCommandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute("consume", TOPIC, "--from-beginning", "--timeout-ms", "3000",
                "--bootstrap-server", kafka.bootstrapServers(), "--schema-registry-url", registry.url());

        // Then it prints the committed records, the bad one as an error line, and not the aborted one
        assertThat(exit).as("stderr: %s", err).isZero();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : out.toString().strip().split("\n")) {
            lines.add(JSON.readTree(line));
        }
        assertThat(lines).extracting(l -> l.get("key").asText()).containsExactly("good-1", "garbage", "good-2");
        assertThat(lines.get(0).get("value").get("input").get("first").toString()).isEqualTo("[1,2,3,4,5,6]");
        assertThat(lines.get(0).get("value").get("label").asInt()).isEqualTo(4);
        assertThat(lines.get(1).get("error").asText()).contains("magic byte");
        assertThat(lines.get(1).has("value")).isFalse();
        assertThat(err.toString()).contains("3 record(s)");
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
