package io.kdstream.ops.observe;

import io.kdstream.avro.TrainingStep;
import io.kdstream.teacher.serve.TeacherMetrics;
import io.kdstream.teacher.serve.TeacherService;
import io.kdstream.trainer.Trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every query of the Grafana dashboard asks for metrics, labels and label values that the service behind its panel
 * exports: each service's registry is wired the way its command wires it ({@code teacher serve}: teacher meters and
 * its Kafka clients; {@code train}: the step meters; {@code monitor}: its Kafka Streams instance), and the names in
 * the queries are looked up in that service's scrape.
 */
class DashboardQueriesTest {

    private static final Path DASHBOARD = Path.of("deploy/grafana/kdstream-dashboard.json");
    private static final Pattern METRIC = Pattern.compile("\\b((?:kdstream|kafka|jvm|process|system)_[a-z0-9_]+)\\b");
    private static final Pattern SELECTOR = Pattern.compile("\\b([a-z_][a-z0-9_]*)\\{([^}]*)}");
    private static final Pattern MATCHER = Pattern.compile("([a-z_][a-z0-9_]*)\\s*(=~|!~|!=|=)\\s*\"([^\"]*)\"");
    private static final Pattern BY = Pattern.compile("\\b(?:by|ignoring|on)\\s*\\(([^)]*)\\)");

    @TempDir
    static Path stateDir;

    private static final Map<String, String> SCRAPES = new TreeMap<>();

    @BeforeAll
    static void scrapeEveryService() {
        try (Observability teacher = Observability.forService(TeacherService.COMPONENT);
             KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                     ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1", ConsumerConfig.GROUP_ID_CONFIG, "g"),
                     new ByteArrayDeserializer(), new ByteArrayDeserializer());
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                     ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1"), new ByteArraySerializer(),
                     new ByteArraySerializer())) {
            TeacherMetrics metrics = new TeacherMetrics();
            new TeacherMeters(metrics).bindTo(teacher.registry());
            teacher.bind(consumer).bind(producer);
            metrics.recordCommit(1, 1, Map.of(), new int[] {1}, new double[] {1.0}, new long[] {1_000_000L});
            SCRAPES.put(TeacherService.COMPONENT, teacher.scrape());
            producer.close(Duration.ZERO);
            consumer.close(CloseOptions.timeout(Duration.ZERO));
        }
        try (Observability trainer = Observability.forService(Trainer.COMPONENT)) {
            new TrainingStepMeters(trainer.registry()).record(TrainingStep.newBuilder().setRunId("r").setTrainerId("t")
                    .setGroup("g").setStep(1).setEpoch(0).setTimestampMs(Instant.EPOCH).setTaskLoss(1).setKdLoss(1)
                    .setFeatureLoss(0).setTotalLoss(1).setTemperature(1).setAlpha(0.5).setLearningRate(0.1).setSamples(1)
                    .setFailures(0).setStepLatencyMs(1).build());
            SCRAPES.put(Trainer.COMPONENT, trainer.scrape());
        }
        StreamsBuilder topology = new StreamsBuilder();
        topology.stream("in").to("out");
        KafkaStreams streams = new KafkaStreams(topology.build(), new java.util.Properties() {
            {
                put(StreamsConfig.APPLICATION_ID_CONFIG, "dashboard-test");
                put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1");
                put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
                put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.ByteArraySerde.class.getName());
                put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.ByteArraySerde.class.getName());
            }
        });
        try (Observability monitor = Observability.forService("monitor")) {
            monitor.bind(streams);
            SCRAPES.put("monitor", monitor.scrape());
        } finally {
            streams.close(Duration.ZERO);
        }
    }

    @AfterAll
    static void forget() {
        SCRAPES.clear();
    }

    /** The service whose registry a metric comes from. */
    private static List<String> exporters(String metric) {
        if (metric.startsWith("kdstream_teacher_") || metric.startsWith("kafka_consumer_")
                || metric.startsWith("kafka_producer_")) {
            return List.of(TeacherService.COMPONENT);
        }
        if (metric.startsWith("kdstream_trainer_")) {
            return List.of(Trainer.COMPONENT);
        }
        if (metric.startsWith("kafka_stream_")) {
            return List.of("monitor");
        }
        return List.copyOf(SCRAPES.keySet());
    }

    private static List<String> queries() throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        List<String> out = new ArrayList<>();
        for (JsonNode panel : dashboard.get("panels")) {
            for (JsonNode target : panel.path("targets")) {
                out.add(target.get("expr").asText());
            }
        }
        for (JsonNode variable : dashboard.at("/templating/list")) {
            out.add(variable.path("query").asText());
        }
        return out;
    }

    /** The exported series (sample lines) of {@code metric} in {@code scrape}. */
    private static List<String> series(String scrape, String metric) {
        return scrape.lines().filter(l -> l.startsWith(metric + "{") || l.startsWith(metric + " ")).toList();
    }

    @Test
    void shouldQueryOnlyMetricsThatTheServiceBehindThePanelExports() throws Exception {
        Set<String> referenced = new LinkedHashSet<>();
        for (String q : queries()) {
            Matcher m = METRIC.matcher(q);
            while (m.find()) {
                referenced.add(m.group(1));
            }
        }

        assertThat(referenced).hasSizeGreaterThan(12);
        for (String name : referenced) {
            for (String service : exporters(name)) {
                assertThat(series(SCRAPES.get(service), name)).as("series of %s exported by %s", name, service)
                        .isNotEmpty();
            }
        }
    }

    @Test
    void shouldSelectAndGroupOnlyByLabelsThatTheMetricsCarry() throws Exception {
        int checked = 0;
        for (String q : queries()) {
            Set<String> metrics = new LinkedHashSet<>();
            Matcher s = SELECTOR.matcher(q);
            while (s.find()) {
                String name = s.group(1);
                metrics.add(name);
                Matcher m = MATCHER.matcher(s.group(2));
                while (m.find()) {
                    String label = m.group(1);
                    String value = m.group(3);
                    for (String service : exporters(name)) {
                        List<String> lines = series(SCRAPES.get(service), name);
                        assertThat(lines).as("%s{%s} in %s", name, label, q)
                                .anyMatch(l -> l.contains(label + "=\""));
                        if (m.group(2).equals("=") && !value.startsWith("$")) {
                            assertThat(lines).as("%s{%s=\"%s\"} in %s", name, label, value, q)
                                    .anyMatch(l -> l.contains(label + "=\"" + value + "\""));
                        }
                        checked++;
                    }
                }
            }
            Matcher by = BY.matcher(q);
            while (by.find()) {
                for (String label : by.group(1).split(",")) {
                    String l = label.trim();
                    if (l.isEmpty()) {
                        continue;
                    }
                    assertThat(metrics).as("grouping label %s in %s", l, q).anyMatch(name -> exporters(name).stream()
                            .anyMatch(service -> series(SCRAPES.get(service), name).stream()
                                    .anyMatch(line -> line.contains(l + "=\""))));
                    checked++;
                }
            }
        }
        assertThat(checked).isGreaterThan(20);
    }

    @Test
    void shouldAskForNoClientSideQuantilesOrMillisecondGauges() throws Exception {
        for (String q : queries()) {
            assertThat(q).doesNotContain("quantile=").doesNotContain("_ms{").doesNotContain("_ms ");
        }
    }
}
