package io.kdstream.it;

import io.kdstream.avro.InputRecord;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.it.support.ConfirmedSends;
import io.kdstream.it.support.KafkaTestCluster;
import io.kdstream.it.support.TeacherProps;
import io.kdstream.it.support.TopicProps;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.schemas.registry.RegisteredSchema;
import io.kdstream.schemas.registry.SchemaRegistryClient;
import io.kdstream.schemas.registry.SchemaRegistryClients;
import io.kdstream.schemas.registry.SchemaRegistryException;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.serve.TeacherService;
import io.kdstream.teacher.serve.TeacherConfig;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * kdstream against a schema registry it did not write: Apicurio Registry 2.6 (its Quarkus application from Maven
 * Central, {@code io.apicurio:apicurio-registry-app:<version>:zip:all}, run as a child JVM with its in-memory H2
 * storage) through its Confluent-compatible API ({@code /apis/ccompat/v7}). The serde and
 * {@code RestSchemaRegistryClient} register and resolve ids there, the registry enforces a BACKWARD rule set through the
 * Confluent config API, an evolved input schema is accepted while an incompatible one is refused, and the teacher-service
 * and a trainer run on a real broker with records written in both schema versions.
 *
 * <p>Opt-in (a 142 MB download and a minute of start-up): {@code -Papicurio} unpacks the distribution and sets
 * {@code kd.apicurio.home}; without it the test skips with that reason.
 */
class ApicurioRegistryIT {

    private static final String P = "apicurio";
    private static final int PER_GROUP = 100;

    private static Process registryProcess;
    private static Path registryLog;
    private static String registryUrl;
    private static KafkaTestCluster kafka;
    private static String skipReason;

    @BeforeAll
    static void start() throws Exception {
        String home = System.getProperty("kd.apicurio.home", "");
        Path runner = home.isBlank() ? null : findRunner(Path.of(home));
        if (runner == null) {
            skipReason = "skipped: no Apicurio Registry distribution (kd.apicurio.home=" + home + "); run with -Papicurio, "
                    + "which unpacks io.apicurio:apicurio-registry-app:zip:all from Maven Central";
            System.out.println("ApicurioRegistryIT " + skipReason);
            return;
        }
        int port = freePort();
        // next to the distribution, in target/
        registryLog = Path.of(home).toAbsolutePath().resolveSibling("apicurio.log");
        long started = System.nanoTime();
        registryProcess = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-Dquarkus.http.host=127.0.0.1", "-Dquarkus.http.port=" + port, "-jar", runner.toString())
                .redirectErrorStream(true).redirectOutput(registryLog.toFile()).start();
        registryUrl = "http://127.0.0.1:" + port + "/apis/ccompat/v7";
        awaitRegistry(Duration.ofMinutes(4));
        System.out.printf("ApicurioRegistryIT: %s answered at %s after %.1f s (log %s)%n", runner.getFileName(), registryUrl,
                (System.nanoTime() - started) / 1e9, registryLog);
        kafka = KafkaTestCluster.start();
        KdConfig config = new KdConfig(props(null));
        try (TopicAdmin topics = new TopicAdmin(KafkaClients.admin(config), Duration.ofSeconds(30), true)) {
            topics.ensureTopics(TopicAdmin.catalog(config));
        }
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (kafka != null) {
            kafka.close();
        }
        if (registryProcess != null) {
            registryProcess.destroy();
            if (!registryProcess.waitFor(30, TimeUnit.SECONDS)) {
                registryProcess.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    @BeforeEach
    void requireRegistry() {
        assumeTrue(skipReason == null, skipReason);
    }

    @Test
    void shouldRoundTripTheConfluentWireFormatWithIdsTheThirdPartyRegistryAssigned() throws Exception {
        // Given the serde configured with Apicurio's Confluent-compatible URL
        String topic = P + ".roundtrip";
        String subject = topic + "-value";
        InputRecord record = input(1, new Random(1));
        try (KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, new KdConfig(props(null)).serdeProperties());
             SchemaRegistryClient client = SchemaRegistryClients.create(registryUrl, Map.of())) {
            // When it serialises a record (registering the schema) and reads it back
            byte[] wire = serde.serializer().serialize(topic, record);
            InputRecord read = serde.deserializer().deserialize(topic, wire);

            // Then the bytes are magic byte 0 + the id Apicurio gave the subject's only version, and the record survives
            int id = ByteBuffer.wrap(wire, 1, 4).getInt();
            RegisteredSchema latest = client.latest(subject);
            assertThat(wire[0]).isZero();
            assertThat(latest.version()).isEqualTo(1);
            assertThat(latest.id()).isEqualTo(id);
            assertThat(latest.schema()).isEqualTo(InputRecord.getClassSchema());
            assertThat(client.getById(id)).isEqualTo(InputRecord.getClassSchema());
            assertThat(client.idOf(subject, InputRecord.getClassSchema())).isEqualTo(id);
            assertThat(client.subjects()).contains(subject);
            assertThat(read).isEqualTo(record);
            // ... and the registry's own answer, read without kdstream's client, names the same id
            assertThat(http("GET", "/subjects/" + subject + "/versions/1", null).body()).contains("\"id\":" + id);
            System.out.printf("ApicurioRegistryIT: %s version 1 has id %d; %d-byte record round-tripped%n", subject, id,
                    wire.length);
        }
    }

    @Test
    void shouldRefuseAnIncompatibleSchemaAndRunThePipelineOnEvolvedInputs(@TempDir Path dir) throws Exception {
        // Given inputs written with the generated schema (v1, registered by the serde)
        KdConfig config = new KdConfig(props(null));
        String inputs = config.topics().inputs();
        String subject = inputs + "-value";
        Random rng = new Random(11);
        List<InputRecord> v1Records = new ArrayList<>();
        for (int i = 0; i < PER_GROUP; i++) {
            v1Records.add(input(i, rng));
        }
        produceV1(config, v1Records.subList(0, PER_GROUP / 2));
        try (SchemaRegistryClient client = SchemaRegistryClients.create(registryUrl, Map.of())) {
            int v1Id = client.latest(subject).id();

            // When the subject is set to BACKWARD through the Confluent config API
            HttpResponse<String> config1 = http("PUT", "/config/" + subject, "{\"compatibility\":\"BACKWARD\"}");
            assertThat(config1.statusCode()).as("PUT /config: %s", config1.body()).isEqualTo(200);
            assertThat(http("GET", "/config/" + subject, null).body()).contains("BACKWARD");

            // Then a new required field (no default: old records cannot be read with it) is refused with 409
            Schema noDefault = withWeight(false);
            assertThat(client.isCompatible(subject, noDefault)).isFalse();
            SchemaRegistryException refused = catchThrowableOfType(SchemaRegistryException.class,
                    () -> client.register(subject, noDefault));
            assertThat(refused).as("registering a field without default under BACKWARD").isNotNull();
            assertThat(refused.httpStatus()).isEqualTo(409);

            // ... while the same field with a default is accepted as version 2 with a new id
            Schema v2 = withWeight(true);
            assertThat(client.isCompatible(subject, v2)).isTrue();
            int v2Id = client.register(subject, v2);
            assertThat(v2Id).isNotEqualTo(v1Id);
            assertThat(client.latest(subject).version()).isEqualTo(2);
            assertThat(client.version(subject, 1).id()).isEqualTo(v1Id);
            assertThat(client.register(subject, v2)).as("registering again is idempotent").isEqualTo(v2Id);

            // When inputs are written with v2 by a plain Avro writer, then more with v1 by the serde (an old producer)
            produceV2(config, v2, v2Id, rng);
            produceV1(config, v1Records.subList(PER_GROUP / 2, PER_GROUP));
            assertThat(client.latest(subject).version()).as("the old producer registered nothing new").isEqualTo(2);

            // ... and the teacher-service and a trainer run with Apicurio as their registry
            Map<String, Object> teacherProps = TeacherProps.smallTransactions(props(null), P);
            long outputs;
            int total = 2 * PER_GROUP;
            try (Teacher teacher = FuzzedInputIT.randomTeacher(dir.resolve("teacher"));
                 TeacherService service = TeacherService.builder().setConfig(new TeacherConfig(teacherProps))
                         .setTeacher(teacher).build()) {
                service.start();
                long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
                while (service.metrics().snapshot().inputs() < total) {
                    assertThat(service.isRunning()).as("teacher workers alive").isTrue();
                    assertThat(System.nanoTime()).as("teacher scored every input in time").isLessThan(deadline);
                    Thread.sleep(100);
                }
                deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
                while (service.metrics().snapshot().outputs() + dead(service) < total && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                outputs = service.metrics().snapshot().outputs();
                assertThat(dead(service)).as("teacher dead letters").isZero();
            }
            Trainer.Result result;
            try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props(dir))).build()) {
                result = trainer.run();
            }

            // Then every input of both versions was scored and trained on, and the outputs carry Apicurio's ids
            assertThat(outputs).isEqualTo(total);
            assertThat(result.completed()).isTrue();
            assertThat(result.samples()).isEqualTo(total);
            assertThat(result.deadLetters()).isZero();
            byte[] firstOutput = firstValue(config, config.topics().teacherOutputs());
            int outputId = ByteBuffer.wrap(firstOutput, 1, 4).getInt();
            assertThat(client.getById(outputId)).isEqualTo(TeacherOutput.getClassSchema());
            assertThat(client.subjects()).contains(subject, config.topics().teacherOutputs() + "-value",
                    config.topics().runs() + "-value");
            System.out.printf("ApicurioRegistryIT: %s v1 id %d, v2 id %d (BACKWARD; the field without default refused "
                            + "with HTTP %d, error code %d); %d inputs (%d v1, %d v2) scored and %d trained, 0 dead letters; "
                            + "teacher outputs under id %d; subjects %s%n", subject, v1Id, v2Id, refused.httpStatus(),
                    refused.errorCode(), total, PER_GROUP, PER_GROUP, result.samples(), outputId, client.subjects());
        }
    }

    private static long dead(TeacherService service) {
        return service.metrics().snapshot().deadLetters().values().stream().mapToLong(Long::longValue).sum();
    }

    private static InputRecord input(int i, Random rng) {
        byte[] px = new byte[784];
        rng.nextBytes(px);
        return InputRecord.newBuilder().setId("ap-" + i).setSource("apicurio").setInput(TensorCodec.fromUint8(px, 1, 28, 28))
                .setLabel(i % 10).setTimestampMs(Instant.ofEpochMilli(1_000L + i)).setAttributes(Map.of()).build();
    }

    private static void produceV1(KdConfig config, List<InputRecord> records) throws InterruptedException {
        String topic = config.topics().inputs();
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config.serdeProperties())) {
            for (InputRecord r : records) {
                out.add(new ProducerRecord<>(topic, r.getId().getBytes(StandardCharsets.UTF_8), serde.serializer().serialize(topic, r)));
            }
        }
        ConfirmedSends.sendAll(config, "ingest-v1", out);
    }

    /** {@value #PER_GROUP} inputs written with {@code v2} (weight 0.5) by Avro's generic writer, framed by hand. */
    private static void produceV2(KdConfig config, Schema v2, int v2Id, Random rng) throws IOException, InterruptedException {
        String topic = config.topics().inputs();
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        for (int i = 0; i < PER_GROUP; i++) {
            InputRecord v1 = input(1_000 + i, rng);
            ByteArrayOutputStream v1Bytes = new ByteArrayOutputStream();
            BinaryEncoder v1Encoder = EncoderFactory.get().binaryEncoder(v1Bytes, null);
            new SpecificDatumWriter<InputRecord>(InputRecord.class).write(v1, v1Encoder);
            v1Encoder.flush();
            GenericRecord asV2 = new GenericDatumReader<GenericRecord>(InputRecord.getClassSchema(), v2)
                    .read(null, DecoderFactory.get().binaryDecoder(v1Bytes.toByteArray(), null));
            asV2.put("weight", 0.5);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            bytes.write(0);
            bytes.write(ByteBuffer.allocate(4).putInt(v2Id).array());
            BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(bytes, null);
            new GenericDatumWriter<GenericRecord>(v2).write(asV2, encoder);
            encoder.flush();
            out.add(new ProducerRecord<>(topic, v1.getId().getBytes(StandardCharsets.UTF_8), bytes.toByteArray()));
        }
        ConfirmedSends.sendAll(config, "ingest-v2", out);
    }

    /** InputRecord plus a {@code weight} field, with default 1.0 or none. */
    private static Schema withWeight(boolean withDefault) {
        Schema v1 = InputRecord.getClassSchema();
        List<Schema.Field> fields = new ArrayList<>();
        for (Schema.Field f : v1.getFields()) {
            fields.add(new Schema.Field(f, f.schema()));
        }
        Schema type = Schema.create(Schema.Type.DOUBLE);
        fields.add(withDefault ? new Schema.Field("weight", type, "sample weight", 1.0)
                : new Schema.Field("weight", type, "sample weight"));
        return Schema.createRecord(v1.getName(), v1.getDoc(), v1.getNamespace(), false, fields);
    }

    private static byte[] firstValue(KdConfig config, String topic) {
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
            List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    return r.value();
                }
            }
        }
        throw new AssertionError("no record on " + topic + " within 60 s");
    }

    private static Map<String, Object> props(Path dir) {
        Map<String, Object> p = new HashMap<>();
        if (kafka != null) {
            p.put(KdConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        }
        p.put("schema.registry.url", registryUrl);
        TopicProps.prefixed(p, P);
        p.put(KdConfig.TOPICS_PARTITIONS_CONFIG, "2");
        if (dir != null) {
            p.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, dir.resolve("run").toString());
            p.put(TrainerConfig.GROUP_CONFIG, P + "-trainer");
            p.put(TrainerConfig.EPOCHS_CONFIG, "1");
            p.put(TrainerConfig.BATCH_SIZE_CONFIG, "32");
            p.put(TrainerConfig.CHECKPOINT_INTERVAL_CONFIG, "4");
            p.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "0");
        }
        return p;
    }

    private static HttpResponse<String> http(String method, String path, String json) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(registryUrl + path)).timeout(Duration.ofSeconds(30))
                .header("Accept", "application/vnd.schemaregistry.v1+json, application/json");
        request.method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        if (json != null) {
            request.header("Content-Type", "application/vnd.schemaregistry.v1+json");
        }
        return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void awaitRegistry(Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            assertThat(registryProcess.isAlive()).as("Apicurio process alive; log: %s", tail(registryLog)).isTrue();
            try {
                if (http("GET", "/subjects", null).statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            assertThat(System.nanoTime()).as("Apicurio answered within %s; log: %s", timeout, tail(registryLog))
                    .isLessThan(deadline);
            Thread.sleep(500);
        }
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    }

    private static Path findRunner(Path home) throws IOException {
        if (!Files.isDirectory(home)) {
            return null;
        }
        try (Stream<Path> files = Files.list(home)) {
            return files.filter(f -> f.getFileName().toString().endsWith("-runner.jar")).findFirst().orElse(null);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
