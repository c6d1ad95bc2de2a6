package io.kdstream.it;

import io.kdstream.avro.DType;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.InputRecord;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.data.LabelSelection;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.it.support.ChannelMeanTorchScript;
import io.kdstream.it.support.KafkaTestCluster;
import io.kdstream.it.support.TestRegistry;
import io.kdstream.it.support.TopicProps;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.ops.cli.KdstreamCli;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.TeacherLoader;
import io.kdstream.teacher.serve.OutputEncoding;
import io.kdstream.teacher.serve.TeacherConfig;
import io.kdstream.teacher.serve.TeacherService;

import ai.djl.Device;

import com.fasterxml.jackson.databind.ObjectMapper;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Bring your own data, end to end on a real broker and the development registry: {@code kdstream ingest npy} and
 * {@code kdstream ingest images} publish exactly the expected records (read back read_committed), an unreadable image
 * is skipped and dead-lettered; a record built the way Confluent's Python client builds it (wire format, Avro binary of
 * a generic record with the schema of {@code docs/schemas/InputRecord.avsc}) decodes as an {@code InputRecord}, and the
 * teacher-service scores all of them with a {@code [3, 32, 32]} TorchScript teacher, dead-lettering the one of the
 * wrong shape as SHAPE.
 */
class ByoIngestIT {

    private static KafkaTestCluster kafka;
    private static TestRegistry registry;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        kafka = KafkaTestCluster.start();
        registry = TestRegistry.start(kafka.bootstrapServers());
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

    @Test
    void shouldPublishExactlyTheExpectedRecordsOfANpyFileAndAnImageFolder() throws Exception {
        // Given the topics, a uint8 [25, 2, 3] array with int64 labels and a folder of two classes with one broken file
        Map<String, Object> props = props("byo");
        KdConfig config = createTopics(props);
        Path propsFile = propertiesFile(props);
        byte[] pixels = new byte[25 * 6];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) (i * 7);
        }
        long[] labels = new long[25];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = i % 4;
        }
        Path x = npy(dir.resolve("pixels.npy"), "|u1", new long[] {25, 2, 3}, pixels);
        Path y = npy(dir.resolve("labels.npy"), "<i8", new long[] {25}, longs(labels));
        Path images = dir.resolve("pics");
        solid(images.resolve("a/1.png"), 6, 4, 0x102030);
        solid(images.resolve("a/2.png"), 6, 4, 0x405060);
        solid(images.resolve("a/3.jpg"), 6, 4, 0x000000);
        solid(images.resolve("b/1.png"), 6, 4, 0xffffff);
        solid(images.resolve("b/2.png"), 6, 4, 0x0a0b0c);
        Files.writeString(images.resolve("b/broken.png"), "not a PNG at all");

        // When both are ingested through the CLI, the array with 40% of its labels
        Run npyRun = cli("ingest", "npy", x.toString(), "--labels", y.toString(), "--label-fraction", "0.4",
                "--label-seed", "9", "--progress", "none", "--config", propsFile.toString());
        Run imagesRun = cli("ingest", "images", images.toString(), "--progress", "none", "--config", propsFile.toString());

        assertThat(npyRun.exit()).as("npy stderr: %s", npyRun.err()).isZero();
        assertThat(npyRun.out()).contains("ingested 25 records (npy/pixels 25) to byo.inputs")
                .contains("example shape [2, 3] UINT8");
        assertThat(imagesRun.exit()).as("images stderr: %s", imagesRun.err()).isZero();
        assertThat(imagesRun.out()).contains("ingested 5 records (images/pics 5) to byo.inputs")
                .contains("tensor shape [3, 6, 4] UINT8, 2 classes")
                .contains("skipped 1 unreadable image(s) (dead-lettered to byo.dlq)").contains("b/broken.png");
        assertThat(Files.readAllLines(images.resolve("classes.txt"))).containsExactly("a", "b");

        // Then the inputs topic holds exactly those 30 records, once each, keyed by id
        Map<String, InputRecord> read = readInputs(config);
        assertThat(read).hasSize(30);
        LabelSelection selection = new LabelSelection(0.4, 9);
        int labelled = 0;
        for (int i = 0; i < 25; i++) {
            String id = String.format("pixels-%05d", i);
            InputRecord r = read.get(id);
            assertThat(r).as(id).isNotNull();
            assertThat(r.getSource()).isEqualTo("npy/pixels");
            assertThat(r.getInput().getDtype()).isEqualTo(DType.UINT8);
            assertThat(r.getInput().getShape()).containsExactly(2, 3);
            assertThat(TensorCodec.toUint8("input", r.getInput())).containsExactly(Arrays.copyOfRange(pixels, i * 6, i * 6 + 6));
            assertThat(r.getLabel()).isEqualTo(selection.keeps(id) ? Integer.valueOf((int) labels[i]) : null);
            assertThat(r.getAttributes()).containsEntry("file", "pixels.npy").containsEntry("index", Integer.toString(i));
            labelled += r.getLabel() == null ? 0 : 1;
        }
        assertThat(labelled).isBetween(3, 17);
        assertThat(npyRun.out()).contains(labelled + " labelled, " + (25 - labelled) + " unlabelled");
        Map<String, Integer> classOf = Map.of("a/1.png", 0, "a/2.png", 0, "a/3.jpg", 0, "b/1.png", 1, "b/2.png", 1);
        classOf.forEach((id, label) -> {
            InputRecord r = read.get(id);
            assertThat(r).as(id).isNotNull();
            assertThat(r.getSource()).isEqualTo("images/pics");
            assertThat(r.getLabel()).isEqualTo(label);
            assertThat(r.getInput().getShape()).containsExactly(3, 6, 4);
            assertThat(r.getAttributes()).containsEntry("file", id).containsEntry("class", id.substring(0, 1));
        });
        assertThat(TensorCodec.toUint8("input", read.get("b/1.png").getInput())).containsOnly((byte) 255);

        // ... and the broken image is on the dead-letter topic with its reason
        Deserializer<FailureEvent> failures = KdAvroSerdes.value(FailureEvent.class, config.serdeProperties()).deserializer();
        List<FailureEvent> dead = readAll(config, config.topics().dlq()).stream()
                .map(r -> failures.deserialize(r.topic(), r.value())).toList();
        assertThat(dead).singleElement().satisfies(e -> {
            assertThat(e.getComponent()).isEqualTo("ingest");
            assertThat(e.getKind()).isEqualTo(FailureKind.DESERIALIZATION);
            assertThat(e.getMessage()).contains("b/broken.png");
            assertThat(e.getAttributes()).containsEntry("file", "b/broken.png").containsEntry("inputTopic", "byo.inputs");
        });
    }

    @Test
    void shouldScorePythonLayoutRecordsNpyAndImagesWithAColourTeacherAndDeadLetterTheWrongShape() throws Exception {
        // Given the topics and the InputRecord schema registered from the copy the Python example reads
        Map<String, Object> props = props("py");
        KdConfig config = createTopics(props);
        Path propsFile = propertiesFile(props);
        String schemaText = Files.readString(Path.of("..", "docs", "schemas", "InputRecord.avsc"));
        Schema schema = new Schema.Parser().parse(schemaText);
        assertThat(schema).as("docs/schemas/InputRecord.avsc is the project's schema").isEqualTo(InputRecord.getClassSchema());
        int schemaId = register(config.topics().inputs() + "-value", schemaText);

        // ... two records built as confluent_kafka's AvroSerializer builds them from a dict: one [3, 32, 32], one HWC
        Producer<byte[], byte[]> producer = KafkaClients.producer(config, "python-layout", Map.of());
        try (producer) {
            for (String id : List.of("cam-00001", "cam-hwc")) {
                boolean chw = id.equals("cam-00001");
                GenericRecord tensor = new GenericData.Record(schema.getField("input").schema());
                tensor.put("dtype", new GenericData.EnumSymbol(tensor.getSchema().getField("dtype").schema(), "UINT8"));
                tensor.put("shape", chw ? List.of(3, 32, 32) : List.of(32, 32, 3));
                tensor.put("data", ByteBuffer.wrap(planes(chw ? 0 : 1)));
                GenericRecord record = new GenericData.Record(schema);
                record.put("id", id);
                record.put("source", "python/camera");
                record.put("input", tensor);
                record.put("label", 4);
                record.put("labels", null);
                record.put("timestampMs", 1_764_000_000_000L);
                record.put("attributes", Map.of("origin", "camera-1"));
                producer.send(new ProducerRecord<>(config.topics().inputs(), id.getBytes(StandardCharsets.UTF_8),
                        wireFormat(schemaId, schema, record))).get();
            }
        }
        // ... and through the CLI a float32 [2, 3, 32, 32] array and an image folder resized to 32x32
        float[] values = new float[2 * 3 * 32 * 32];
        for (int i = 0; i < values.length; i++) {
            values[i] = (i / 1024) / 10f; // example e, channel c holds (3 e + c) / 10
        }
        Path x = npy(dir.resolve("frames.npy"), "<f4", new long[] {2, 3, 32, 32}, floats(values));
        Path images = dir.resolve("pics");
        solid(images.resolve("red/1.png"), 40, 30, 0xff0000);
        solid(images.resolve("grey/1.png"), 20, 20, 0x808080);
        assertThat(cli("ingest", "npy", x.toString(), "--progress", "none", "--config", propsFile.toString()).exit()).isZero();
        assertThat(cli("ingest", "images", images.toString(), "--resize", "32x32", "--progress", "none",
                "--config", propsFile.toString()).exit()).isZero();

        // Then the teacher-service's decoder reads the Python-layout bytes as the InputRecord the dict describes
        Map<String, InputRecord> inputs = readInputs(config);
        InputRecord python = inputs.get("cam-00001");
        assertThat(python.getSource()).isEqualTo("python/camera");
        assertThat(python.getLabel()).isEqualTo(4);
        assertThat(python.getLabels()).isNull();
        assertThat(python.getTimestampMs().toEpochMilli()).isEqualTo(1_764_000_000_000L);
        assertThat(python.getAttributes()).containsExactly(Map.entry("origin", "camera-1"));
        assertThat(python.getInput().getShape()).containsExactly(3, 32, 32);
        assertThat(TensorCodec.toUint8("input", python.getInput())).containsExactly(planes(0));

        // When the teacher-service serves a [3, 32, 32] TorchScript teacher (logits = channel means) over the topic
        Path module = ChannelMeanTorchScript.write(dir.resolve("teacher"), "channel_mean", 3, 32, 32);
        try (Teacher teacher = TeacherLoader.load(module, Device.cpu());
             TeacherService service = TeacherService.builder().setConfig(new TeacherConfig(teacherProps(props, "py")))
                     .setTeacher(teacher).build()) {
            service.start();
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (service.metrics().snapshot().inputs() < 6) {
                assertThat(service.isRunning()).isTrue();
                assertThat(System.nanoTime()).as("teacher read all 6 inputs within 2 minutes").isLessThan(deadline);
                Thread.sleep(50);
            }
        }

        // Then every input of the right shape has its output with the channel means, and the HWC one is a SHAPE dead letter
        Deserializer<TeacherOutput> outputs = KdAvroSerdes.value(TeacherOutput.class, config.serdeProperties()).deserializer();
        Map<String, float[]> logits = readAll(config, config.topics().teacherOutputs()).stream()
                .map(r -> outputs.deserialize(r.topic(), r.value()))
                .collect(Collectors.toMap(TeacherOutput::getInputId, o -> OutputEncoding.decodeLogits(o.getLogits(), 0)));
        assertThat(logits.keySet()).containsExactlyInAnyOrder("cam-00001", "frames-00000", "frames-00001", "red/1.png",
                "grey/1.png");
        assertLogits(logits.get("cam-00001"), 20 / 255f, 70 / 255f, 120 / 255f);
        assertLogits(logits.get("frames-00000"), 0f, 0.1f, 0.2f);
        assertLogits(logits.get("frames-00001"), 0.3f, 0.4f, 0.5f);
        assertLogits(logits.get("red/1.png"), 1f, 0f, 0f);
        assertLogits(logits.get("grey/1.png"), 128 / 255f, 128 / 255f, 128 / 255f);
        Deserializer<FailureEvent> failures = KdAvroSerdes.value(FailureEvent.class, config.serdeProperties()).deserializer();
        List<FailureEvent> dead = readAll(config, config.topics().dlq()).stream()
                .map(r -> failures.deserialize(r.topic(), r.value())).toList();
        assertThat(dead).singleElement().satisfies(e -> {
            assertThat(e.getComponent()).isEqualTo(TeacherService.COMPONENT);
            assertThat(e.getKind()).isEqualTo(FailureKind.SHAPE);
            assertThat(e.getMessage()).contains("cam-hwc").contains("[32, 32, 3]").contains("[3, 32, 32]");
        });
    }

    // ------------------------------------------------------------------ Confluent's wire format, as the Python client writes it

    /** Magic byte 0, the schema id (4 bytes, big-endian), then the Avro binary encoding of the record. */
    private static byte[] wireFormat(int schemaId, Schema schema, GenericRecord record) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0);
        out.writeBytes(ByteBuffer.allocate(4).putInt(schemaId).array());
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(schema).write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }

    /** What the Python client's schema-registry client does to register a schema: POST /subjects/{s}/versions. */
    private static int register(String subject, String schemaText) throws IOException, InterruptedException {
        ObjectMapper json = new ObjectMapper();
        String body = json.writeValueAsString(Map.of("schema", schemaText));
        HttpRequest request = HttpRequest.newBuilder(URI.create(registry.url() + "/subjects/" + subject + "/versions"))
                .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        HttpResponse<String> response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return json.readTree(response.body()).get("id").asInt();
    }

    // ------------------------------------------------------------------ fixtures and reads

    private record Run(int exit, String out, String err) {
    }

    private static Run cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = KdstreamCli.newCommandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    private static Map<String, Object> props(String prefix) {
        Map<String, Object> p = new HashMap<>();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("schema.registry.url", registry.url());
        p.put(KdConfig.TOPICS_PARTITIONS_CONFIG, "3");
        return TopicProps.prefixed(p, prefix);
    }

    private static Map<String, Object> teacherProps(Map<String, Object> base, String prefix) {
        Map<String, Object> p = new HashMap<>(base);
        p.put(TeacherConfig.GROUP_ID_CONFIG, prefix + "-teacher");
        p.put(TeacherConfig.TRANSACTIONAL_ID_PREFIX_CONFIG, prefix + "-teacher");
        p.put(TeacherConfig.WORKERS_CONFIG, 1);
        p.put(TeacherConfig.BATCH_MAX_SIZE_CONFIG, 4);
        p.put(TeacherConfig.BATCH_MAX_WAIT_MS_CONFIG, 10);
        p.put(TeacherConfig.DEVICE_CONFIG, "cpu");
        p.put(TeacherConfig.METRICS_INTERVAL_MS_CONFIG, 0);
        return p;
    }

    private static KdConfig createTopics(Map<String, Object> props) {
        KdConfig config = new KdConfig(props);
        try (TopicAdmin admin = new TopicAdmin(KafkaClients.admin(config), Duration.ofSeconds(30), true)) {
            admin.ensureTopics(TopicAdmin.catalog(config));
        }
        return config;
    }

    private Path propertiesFile(Map<String, Object> props) throws IOException {
        Properties p = new Properties();
        props.forEach((k, v) -> p.setProperty(k, v.toString()));
        Path file = dir.resolve("client-" + props.get(KdConfig.TOPIC_INPUTS_CONFIG) + ".properties");
        try (var out = Files.newBufferedWriter(file)) {
            p.store(out, null);
        }
        return file;
    }

    private static Map<String, InputRecord> readInputs(KdConfig config) {
        Deserializer<InputRecord> d = KdAvroSerdes.value(InputRecord.class, config.serdeProperties()).deserializer();
        Map<String, InputRecord> out = new LinkedHashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : readAll(config, config.topics().inputs())) {
            InputRecord input = d.deserialize(r.topic(), r.value());
            assertThat(new String(r.key(), StandardCharsets.UTF_8)).isEqualTo(input.getId());
            assertThat(out.put(input.getId(), input)).as("duplicate " + input.getId()).isNull();
        }
        return out;
    }

    /** Every committed record of {@code topic} (read_committed, the default of the project's consumers). */
    private static List<ConsumerRecord<byte[], byte[]>> readAll(KdConfig config, String topic) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
            List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (parts.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                assertThat(System.nanoTime()).as("read " + topic + " to its end within 60 s").isLessThan(deadline);
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    private static void assertLogits(float[] actual, float... expected) {
        assertThat(actual).hasSize(expected.length);
        for (int k = 0; k < expected.length; k++) {
            assertThat(actual[k]).as("channel %d", k).isCloseTo(expected[k], within(1e-4f));
        }
    }

    /** Channel k of a [3, 32, 32] image is filled with 20 + 50 k; the HWC variant interleaves the same values. */
    private static byte[] planes(int hwc) {
        byte[] px = new byte[3 * 32 * 32];
        for (int i = 0; i < px.length; i++) {
            int channel = hwc == 0 ? i / 1024 : i % 3;
            px[i] = (byte) (20 + 50 * channel);
        }
        return px;
    }

    private static void solid(Path file, int h, int w, int rgb) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int yy = 0; yy < h; yy++) {
            for (int xx = 0; xx < w; xx++) {
                img.setRGB(xx, yy, rgb);
            }
        }
        Files.createDirectories(file.getParent());
        String format = file.toString().endsWith(".jpg") ? "jpg" : "png";
        assertThat(ImageIO.write(img, format, file.toFile())).isTrue();
    }

    /** A version-1 .npy file as numpy.save writes it: magic, version, header length, padded dict, data. */
    private static Path npy(Path file, String descr, long[] shape, byte[] data) throws IOException {
        String dims = Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining(", "));
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + (shape.length == 1 ? ",)" : ")")
                + ", }";
        int unpadded = 10 + dict.length() + 1;
        int padded = (unpadded + 63) / 64 * 64;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x93);
        out.writeBytes("NUMPY".getBytes(StandardCharsets.US_ASCII));
        out.write(1);
        out.write(0);
        out.writeBytes(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) (padded - 10)).array());
        out.writeBytes((dict + " ".repeat(padded - unpadded) + "\n").getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(data);
        Files.write(file, out.toByteArray());
        return file;
    }

    private static byte[] longs(long[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return b.array();
    }

    private static byte[] floats(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return b.array();
    }
}
