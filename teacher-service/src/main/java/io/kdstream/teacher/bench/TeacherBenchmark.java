package io.kdstream.teacher.bench;

import io.kdstream.avro.InputRecord;
import io.kdstream.core.KdException;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.djl.TensorBridge;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.core.kafka.NewTopicReadiness;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.TeacherPredictor;
import io.kdstream.teacher.serve.TeacherConfig;
import io.kdstream.teacher.serve.TeacherService;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;

/**
 * Throughput of the teacher-service through Kafka against raw batched inference of the same model, in the same
 * process, on the same images. The Kafka run publishes the images as InputRecords to fresh topics first, starts the
 * service and times it in steady state: from its first committed transaction (the consumer group has formed) until
 * every input is committed (outputs and offsets, in transactions); the inputs of that first transaction are not
 * counted.
 */
public final class TeacherBenchmark {

    private static final Logger LOGGER = LoggerFactory.getLogger(TeacherBenchmark.class);

    private TeacherBenchmark() {
    }

    /**
     * One measurement.
     *
     * @param records  inputs processed
     * @param seconds  wall time
     */
    public record Run(long records, double seconds) {
        public double recordsPerSecond() {
            return seconds > 0 ? records / seconds : 0;
        }
    }

    /**
     * Both measurements and their ratio.
     *
     * @param raw   batched inference in-process
     * @param kafka consume, infer, produce and commit through the broker
     */
    public record Result(Run raw, Run kafka, int batchSize, int workers) {
        public double ratio() {
            return raw.recordsPerSecond() > 0 ? kafka.recordsPerSecond() / raw.recordsPerSecond() : 0;
        }

        public String summary() {
            return String.format(Locale.ROOT, "raw DJL: %d records in %.2f s = %.0f records/s | through Kafka: %d records "
                            + "in %.2f s = %.0f records/s | ratio kafka/raw = %.3f (batch %d, workers %d)",
                    raw.records(), raw.seconds(), raw.recordsPerSecond(), kafka.records(), kafka.seconds(),
                    kafka.recordsPerSecond(), ratio(), batchSize, workers);
        }
    }

    /** Batched inference of the first {@code n} images with one predictor, after {@code warmup} batches. */
    public static Run raw(Teacher teacher, FashionMnist data, int n, int batchSize, int warmup) {
        int size = data.imageSize();
        byte[] pixels = data.pixels();
        float[] batch = new float[batchSize * size];
        try (TeacherPredictor predictor = teacher.newPredictor()) {
            for (int w = 0; w < warmup; w++) {
                predictor.predict(batch, Math.min(batchSize, n));
            }
            long start = System.nanoTime();
            for (int from = 0; from < n; from += batchSize) {
                int m = Math.min(batchSize, n - from);
                int base = (from % data.size()) * size;
                for (int j = 0; j < m * size; j++) {
                    batch[j] = (pixels[(base + j) % pixels.length] & 0xff) / TensorBridge.UINT8_MAX;
                }
                predictor.predict(batch, m);
            }
            return new Run(n, (System.nanoTime() - start) / 1e9);
        }
    }

    /**
     * Publishes {@code n} images to fresh topics ({@code <prefix>.inputs}, ...) and times the service over them.
     * {@code config} supplies the broker, registry, batching and workers; its topic names are replaced.
     */
    public static Run kafka(Map<String, Object> baseProps, Teacher teacher, FashionMnist data, int n, int partitions)
            throws InterruptedException {
        String prefix = "bench-" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, Object> props = new HashMap<>(baseProps);
        props.put("kd.topic.inputs", prefix + ".inputs");
        props.put("kd.topic.teacher.outputs", prefix + ".teacher-outputs");
        props.put("kd.topic.teacher.features", prefix + ".teacher-features");
        props.put("kd.topic.dlq", prefix + ".dlq");
        props.put(TeacherConfig.GROUP_ID_CONFIG, prefix + "-teacher");
        props.put(TeacherConfig.TRANSACTIONAL_ID_PREFIX_CONFIG, prefix + "-teacher");
        props.putIfAbsent(TeacherConfig.METRICS_INTERVAL_MS_CONFIG, 0L);
        TeacherConfig config = new TeacherConfig(props);
        try (Admin admin = KafkaClients.admin(config)) {
            admin.createTopics(List.of(new NewTopic(config.topics().inputs(), partitions, config.topicReplicationFactor()),
                    new NewTopic(config.topics().teacherOutputs(), partitions, config.topicReplicationFactor()),
                    new NewTopic(config.topics().teacherFeatures(), partitions, config.topicReplicationFactor()),
                    new NewTopic(config.topics().dlq(), 1, config.topicReplicationFactor()))).all().get();
            NewTopicReadiness.await(admin, List.of(config.topics().inputs(), config.topics().teacherOutputs(),
                    config.topics().teacherFeatures(), config.topics().dlq()), Duration.ofMinutes(1));
        } catch (ExecutionException e) {
            throw new KdException("Cannot create the benchmark topics: " + e.getCause().getMessage(), e.getCause());
        }
        try (KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config.serdeProperties());
             Producer<byte[], byte[]> producer = KafkaClients.producer(config, prefix + "-loader", Map.of())) {
            for (int i = 0; i < n; i++) {
                int k = i % data.size();
                String id = prefix + "-" + i;
                InputRecord r = InputRecord.newBuilder().setId(id).setSource(data.source())
                        .setInput(TensorCodec.fromUint8(data.image(k), data.rows(), data.cols())).setLabel(data.label(k))
                        .setTimestampMs(Instant.now()).setAttributes(Map.of()).build();
                producer.send(new ProducerRecord<>(config.topics().inputs(), id.getBytes(StandardCharsets.UTF_8),
                        serde.serializer().serialize(config.topics().inputs(), r)));
            }
            producer.flush();
        }
        LOGGER.info("Published {} inputs to {}; starting the service", n, config.topics().inputs());
        long firstNs;
        long firstInputs;
        long done;
        try (TeacherService service = TeacherService.builder().setConfig(config).setTeacher(teacher).build()) {
            service.start();
            // steady state: from the first committed transaction (after the group has formed) to the last
            while ((firstInputs = service.metrics().snapshot().inputs()) == 0) {
                checkRunning(service);
                Thread.sleep(1);
            }
            firstNs = System.nanoTime();
            while (service.metrics().snapshot().inputs() < n) {
                checkRunning(service);
                Thread.sleep(2);
            }
            done = System.nanoTime();
        }
        return new Run(n - firstInputs, (done - firstNs) / 1e9);
    }

    private static void checkRunning(TeacherService service) throws InterruptedException {
        if (!service.isRunning()) {
            service.awaitTermination();
            throw new KdException("The service stopped before processing every input");
        }
    }
}
