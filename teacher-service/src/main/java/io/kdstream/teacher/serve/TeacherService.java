package io.kdstream.teacher.serve;

import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.InputRecord;
import io.kdstream.avro.TeacherFeatures;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.core.KdException;
import io.kdstream.core.kafka.DeadLetterPublisher;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.core.kafka.Topics;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.TeacherPredictor;
import io.kdstream.teacher.serve.internals.BatchTransformer;
import io.kdstream.teacher.serve.internals.Worker;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * The teacher-service: consumes {@code InputRecord}s from the inputs topic in a consumer group, runs batched inference
 * on the teacher and publishes one {@code TeacherOutput} per good input, exactly once (Kafka transactions), and one
 * {@code FailureEvent} per bad input on the dead-letter topic in the same transaction.
 *
 * <pre>{@code
 * try (Teacher teacher = TeacherLoader.load(null, ModelStore.openDefault(), config.device());
 *      TeacherService service = TeacherService.builder().setConfig(config).setTeacher(teacher).build()) {
 *     service.start();
 *     service.awaitTermination();
 * }
 * }</pre>
 */
public final class TeacherService implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(TeacherService.class);
    public static final String COMPONENT = "teacher-service";

    private final TeacherConfig config;
    private final Teacher teacher;
    private final Clock clock;
    private final BiConsumer<Consumer<byte[], byte[]>, Producer<byte[], byte[]>> clientsListener;
    private final TeacherMetrics metrics = new TeacherMetrics();
    private final List<Worker> workers = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private ScheduledExecutorService reporter;
    private boolean started;
    private boolean closed;

    private TeacherService(Builder b) {
        this.config = b.config;
        this.teacher = b.teacher;
        this.clock = b.clock;
        this.clientsListener = b.clientsListener;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Starts the workers (and the metrics log line when configured). */
    public synchronized void start() {
        if (started) {
            throw new IllegalStateException("already started");
        }
        started = true;
        Topics topics = config.topics();
        OutputOptions options = config.outputOptions();
        BatchingPolicy policy = config.batchingPolicy();
        String prefix = config.transactionalIdPrefix();
        Map<String, Object> serde = config.serdeProperties();
        LOGGER.info("Starting teacher-service model={} version={} sha256={} device={} workers={} group={} inputs={} "
                        + "outputs={} dlq={} batch.max.size={} batch.max.wait.ms={} logits={}{} features={} transactional.id.prefix={}",
                teacher.info().name(), teacher.info().version(), teacher.info().sha256(), teacher.device(), config.workers(),
                config.groupId(), topics.inputs(), topics.teacherOutputs(), topics.dlq(), policy.maxSize(), policy.maxWaitMs(),
                options.logitsDtype(), options.topK() > 0 ? " top-" + options.topK() : "", options.featuresDtype(), prefix);
        for (int i = 0; i < config.workers(); i++) {
            workers.add(newWorker(i, topics, options, policy, prefix, serde));
        }
        for (Worker w : workers) {
            Thread t = new Thread(w);
            t.setDaemon(false);
            threads.add(t);
            t.start();
        }
        if (config.metricsIntervalMs() > 0) {
            reporter = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "kdstream-teacher-metrics");
                t.setDaemon(true);
                return t;
            });
            TeacherMetrics.Snapshot[] last = new TeacherMetrics.Snapshot[1];
            reporter.scheduleAtFixedRate(() -> {
                TeacherMetrics.Snapshot s = metrics.snapshot();
                LOGGER.info("teacher-service {} dlq_by_kind={}", s.logLine(last[0]), nonZero(s));
                last[0] = s;
            }, config.metricsIntervalMs(), config.metricsIntervalMs(), TimeUnit.MILLISECONDS);
        }
    }

    private static Map<String, Long> nonZero(TeacherMetrics.Snapshot s) {
        Map<String, Long> out = new java.util.TreeMap<>();
        s.deadLetters().forEach((k, v) -> {
            if (v > 0) {
                out.put(k.name(), v);
            }
        });
        return out;
    }

    private Worker newWorker(int i, Topics topics, OutputOptions options, BatchingPolicy policy, String prefix,
            Map<String, Object> serde) {
        Map<String, Object> consumerOverrides = new HashMap<>();
        consumerOverrides.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, config.transactionMaxInputs());
        consumerOverrides.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        consumerOverrides.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        consumerOverrides.put(ConsumerConfig.CLIENT_ID_CONFIG, prefix + "-" + i + "-consumer");
        Map<String, Object> producerOverrides = new HashMap<>();
        producerOverrides.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, prefix + "-" + i);
        producerOverrides.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, config.transactionTimeoutMs());
        producerOverrides.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        producerOverrides.put(ProducerConfig.ACKS_CONFIG, "all");
        KdAvroSerde<InputRecord> inputSerde = KdAvroSerdes.value(InputRecord.class, serde);
        KdAvroSerde<TeacherOutput> outputSerde = KdAvroSerdes.value(TeacherOutput.class, serde);
        KdAvroSerde<FailureEvent> failureSerde = KdAvroSerdes.value(FailureEvent.class, serde);
        KdAvroSerde<TeacherFeatures> featuresSerde = KdAvroSerdes.value(TeacherFeatures.class, serde);
        TeacherPredictor predictor = teacher.newPredictor();
        Consumer<byte[], byte[]> consumer = null;
        BatchTransformer built = null;
        try {
            BatchTransformer transformer = new BatchTransformer(teacher.metadata(), teacher.info().toAvro(), predictor,
                    options, inputSerde.deserializer(), policy.maxSize(), clock, config.views(),
                    config.pipeline() ? "kdstream-teacher-inference-" + i : null);
            built = transformer;
            consumer = KafkaClients.consumer(config, config.groupId(), consumerOverrides);
            Producer<byte[], byte[]> producer = KafkaClients.producer(config, prefix + "-" + i + "-producer", producerOverrides);
            clientsListener.accept(consumer, producer);
            DeadLetterPublisher dlq = new DeadLetterPublisher(COMPONENT, topics.dlq(), failureSerde.serializer(), clock);
            Worker.Outputs out = new Worker.Outputs(topics.teacherOutputs(), outputSerde.serializer(),
                    config.featuresToCompanion() ? topics.teacherFeatures() : null, featuresSerde.serializer());
            return new Worker(i, consumer, producer, transformer, policy, topics.inputs(), out, dlq, metrics,
                    config.retryBackoffMs(), predictor, () -> {
                        transformer.close();
                        inputSerde.close();
                        outputSerde.close();
                        failureSerde.close();
                        featuresSerde.close();
                    });
        } catch (RuntimeException e) {
            if (built != null) {
                built.close();
            }
            predictor.close();
            if (consumer != null) {
                consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ZERO));
            }
            throw e;
        }
    }

    public TeacherMetrics metrics() {
        return metrics;
    }

    /**
     * Blocks until every worker has stopped.
     *
     * @throws KdException when a worker stopped because of a fatal failure
     */
    public void awaitTermination() throws InterruptedException {
        for (Thread t : threads) {
            t.join();
        }
        for (Worker w : workers) {
            if (w.failure() != null) {
                throw new KdException("teacher-service stopped: " + w.failure().getMessage(), w.failure());
            }
        }
    }

    /** Whether every worker is still running. */
    public boolean isRunning() {
        return started && threads.stream().allMatch(Thread::isAlive);
    }

    /**
     * Stops every worker like a crashed process: open transactions are left to be aborted by the broker or by the
     * next instance with the same transactional ids. For failure drills and tests.
     */
    public void kill() throws InterruptedException {
        workers.forEach(Worker::kill);
        for (Thread t : threads) {
            t.join();
        }
        stopReporting();
    }

    /** Finishes the open transactions, stops the workers and closes their clients. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        workers.forEach(Worker::stop);
        for (Thread t : threads) {
            try {
                t.join(Duration.ofSeconds(60).toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        stopReporting();
        TeacherMetrics.Snapshot s = metrics.snapshot();
        LOGGER.info("teacher-service stopped {} dlq_by_kind={}", s.logLine(null), nonZero(s));
    }

    private void stopReporting() {
        if (reporter != null) {
            reporter.shutdownNow();
            reporter = null;
        }
    }

    /** Builds a {@link TeacherService}. */
    public static final class Builder {
        private TeacherConfig config;
        private Teacher teacher;
        private Clock clock = Clock.systemUTC();
        private BiConsumer<Consumer<byte[], byte[]>, Producer<byte[], byte[]>> clientsListener = (c, p) -> { };

        private Builder() {
        }

        /**
         * Called with each worker's consumer and producer when {@link #start()} creates them, e.g. to bind their
         * client metrics to a registry. The service owns and closes the clients.
         */
        public Builder optClientsListener(BiConsumer<Consumer<byte[], byte[]>, Producer<byte[], byte[]>> listener) {
            this.clientsListener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        public Builder setConfig(TeacherConfig c) {
            this.config = c;
            return this;
        }

        /** The loaded teacher; the service does not close it. */
        public Builder setTeacher(Teacher t) {
            this.teacher = t;
            return this;
        }

        public Builder optClock(Clock c) {
            this.clock = c;
            return this;
        }

        /**
         * @throws KdException when the output options do not fit the model (top-k, feature names)
         */
        public TeacherService build() {
            Objects.requireNonNull(config, "setConfig is required");
            Objects.requireNonNull(teacher, "setTeacher is required");
            Objects.requireNonNull(clock, "clock");
            OutputOptions options = config.outputOptions();
            if (options.topK() >= teacher.metadata().numClasses()) {
                throw new KdException(TeacherConfig.LOGITS_TOPK_CONFIG + "=" + options.topK() + " must be smaller than the "
                        + teacher.metadata().numClasses() + " classes of " + teacher.info().name());
            }
            try {
                options.features().select(teacher.metadata().features());
            } catch (IllegalArgumentException e) {
                throw new KdException(TeacherConfig.FEATURES_CONFIG + ": " + e.getMessage(), e);
            }
            return new TeacherService(this);
        }
    }
}
