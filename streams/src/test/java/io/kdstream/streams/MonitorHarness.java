package io.kdstream.streams;

import io.kdstream.avro.Alert;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.MonitorEvent;
import io.kdstream.avro.RunManifest;
import io.kdstream.avro.RunStatus;
import io.kdstream.avro.TrainingStep;
import io.kdstream.schemas.registry.MockSchemaRegistry;

import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;

import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

/** A TopologyTestDriver around the monitor topology, with a mock:// registry; event time is driven by the test. */
final class MonitorHarness implements AutoCloseable {

    final String scope = "monitor-test-" + UUID.randomUUID();
    final MonitorTopics topics = MonitorTopics.defaults();
    final MonitorSerdes serdes;
    final TopologyTestDriver driver;
    final TestInputTopic<String, TrainingStep> metrics;
    final TestInputTopic<String, byte[]> rawMetrics;
    final TestInputTopic<String, FailureEvent> dlqIn;
    final TestInputTopic<String, byte[]> rawDlq;
    final TestInputTopic<String, RunManifest> runs;
    final TestInputTopic<String, byte[]> rawRuns;
    final TestOutputTopic<String, MonitorEvent> monitors;
    final TestOutputTopic<String, Alert> alerts;
    final TestOutputTopic<String, FailureEvent> dlqOut;

    MonitorHarness(Thresholds thresholds, Path stateDir) {
        Map<String, Object> settings = new HashMap<>();
        settings.put(MonitorConfig.SCHEMA_REGISTRY_URL_CONFIG, "mock://" + scope);
        settings.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        // The driver's MockProducer drops uncommitted transactional sends when it collects output, which loses the
        // dead letters written while a record is deserialised; exactly-once is covered by MonitorsIT on a broker.
        settings.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
        MonitorConfig config = new MonitorConfig(settings);
        serdes = MonitorSerdes.avro(config.serdeConfig());
        Topology topology = MonitorTopology.build(topics, thresholds, serdes);
        Properties props = config.streamsProperties();
        driver = new TopologyTestDriver(topology, props, Instant.EPOCH);
        metrics = driver.createInputTopic(topics.metrics(), new StringSerializer(), serdes.trainingStep().serializer());
        rawMetrics = driver.createInputTopic(topics.metrics(), new StringSerializer(), new ByteArraySerializer());
        dlqIn = driver.createInputTopic(topics.dlq(), new StringSerializer(), serdes.failureEvent().serializer());
        rawDlq = driver.createInputTopic(topics.dlq(), new StringSerializer(), new ByteArraySerializer());
        runs = driver.createInputTopic(topics.runs(), new StringSerializer(), serdes.runManifest().serializer());
        rawRuns = driver.createInputTopic(topics.runs(), new StringSerializer(), new ByteArraySerializer());
        monitors = driver.createOutputTopic(topics.monitors(), new StringDeserializer(),
                serdes.monitorEvent().deserializer());
        alerts = driver.createOutputTopic(topics.alerts(), new StringDeserializer(), serdes.alert().deserializer());
        dlqOut = driver.createOutputTopic(topics.dlq(), new StringDeserializer(),
                serdes.failureEvent().deserializer());
    }

    /** A finite step with the given losses; total = task + kd + feature unless given. */
    static TrainingStep step(String run, String trainer, long step, long timeMs, double task, double kd,
                             double total) {
        return TrainingStep.newBuilder()
                .setRunId(run)
                .setTrainerId(trainer)
                .setGroup("g")
                .setStep(step)
                .setEpoch(0)
                .setTimestampMs(Instant.ofEpochMilli(timeMs))
                .setTaskLoss(task)
                .setKdLoss(kd)
                .setFeatureLoss(0.0)
                .setTotalLoss(total)
                .setTemperature(4.0)
                .setAlpha(0.5)
                .setLearningRate(0.01)
                .setSamples(32)
                .setFailures(0)
                .setStepLatencyMs(5.0)
                .build();
    }

    /** Pipes a step with the Kafka record timestamp equal to its event time. */
    void pipe(TrainingStep step) {
        metrics.pipeInput(step.getTrainerId(), step, step.getTimestampMs());
    }

    /** A run manifest in the given state; an ended one carries {@code endedAtMs} (null: none). */
    static RunManifest manifest(String run, RunStatus status, Long endedAtMs) {
        return RunManifest.newBuilder()
                .setRunId(run)
                .setGroup("g")
                .setStatus(status)
                .setConfig(Map.of())
                .setConfigSha256("0".repeat(64))
                .setCodeVersion("test")
                .setSeed(1L)
                .setStudentArchitecture("mlp")
                .setRanges(java.util.List.of())
                .setFinalModelSha256(status == RunStatus.FINISHED ? "1".repeat(64) : null)
                .setStartedAtMs(Instant.EPOCH)
                .setEndedAtMs(endedAtMs == null ? null : Instant.ofEpochMilli(endedAtMs))
                .build();
    }

    /** Pipes a manifest keyed by its run id, as the trainers publish it. */
    void pipe(RunManifest manifest) {
        runs.pipeInput(manifest.getRunId(), manifest);
    }

    static FailureEvent failure(String component, FailureKind kind, long timeMs) {
        return FailureEvent.newBuilder()
                .setComponent(component)
                .setKind(kind)
                .setMessage("bad record")
                .setTimestampMs(Instant.ofEpochMilli(timeMs))
                .build();
    }

    void pipe(FailureEvent failure) {
        dlqIn.pipeInput(failure.getComponent(), failure, failure.getTimestampMs());
    }

    @Override
    public void close() {
        try {
            driver.close();
        } finally {
            MockSchemaRegistry.dropScope(scope);
        }
    }
}
