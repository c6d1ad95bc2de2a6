package io.kdstream.ops.demo;

import io.kdstream.avro.TrainingStep;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.ops.cli.ProgressBar;
import io.kdstream.ops.observe.TrainingStepMeters;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * Follows the metrics topic from its end while the students train: a progress bar of their steps and, with
 * observability, the trainer-step meters. Stops every trainer when one of them fails, since a group member that
 * failed would leave the others waiting for its contributions.
 */
final class StepFollower implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(DemoRunner.class);

    private final DemoContext ctx;
    private final KdConfig config;
    private final Consumer<byte[], byte[]> tail;
    private final ProgressBar bar;

    /** Positions a consumer at the end of {@code metricsTopic}, before any trainer starts. */
    StepFollower(DemoContext ctx, KdConfig config, String metricsTopic, long expectedSteps) {
        this.ctx = ctx;
        this.config = config;
        this.tail = KafkaClients.consumer(config, null, Map.of());
        ProgressBar created = null;
        try {
            created = ctx.settings().progress().bar("student steps", expectedSteps);
            List<TopicPartition> tps = TopicReader.partitions(tail, metricsTopic);
            tail.assign(tps);
            tail.seekToEnd(tps);
            tps.forEach(tail::position);
        } catch (RuntimeException e) {
            if (created != null) {
                created.close();
            }
            tail.close();
            throw e;
        }
        this.bar = created;
    }

    /** Polls the metrics topic until every one of {@code runs} has finished. */
    void followUntilDone(Collection<? extends Future<?>> runs) {
        TrainingStepMeters meters = null;
        KdAvroSerde<TrainingStep> stepSerde = null;
        if (ctx.settings().observability() != null) {
            ctx.settings().observability().bind(tail);
            meters = new TrainingStepMeters(ctx.settings().observability().registry());
            stepSerde = KdAvroSerdes.value(TrainingStep.class, config.serdeProperties());
        }
        try {
            boolean failed = false;
            while (runs.stream().anyMatch(f -> !f.isDone())) {
                if (!failed && runs.stream().anyMatch(StepFollower::failed)) {
                    failed = true;
                    LOGGER.warn("A trainer failed; stopping the others");
                    ctx.stopTrainers();
                }
                ConsumerRecords<byte[], byte[]> records = tail.poll(Duration.ofMillis(250));
                if (!records.isEmpty()) {
                    bar.step(records.count());
                }
                if (meters != null) {
                    record(meters, stepSerde, records);
                }
            }
        } finally {
            if (stepSerde != null) {
                stepSerde.close();
            }
        }
    }

    private static void record(TrainingStepMeters meters, KdAvroSerde<TrainingStep> serde,
                               ConsumerRecords<byte[], byte[]> records) {
        for (var r : records) {
            try {
                meters.record(serde.deserializer().deserialize(r.topic(), r.value()));
            } catch (RuntimeException e) {
                LOGGER.debug("Step record at offset {} not decodable for metrics: {}", r.offset(), e.toString());
            }
        }
    }

    /** Whether {@code f} has finished by throwing. */
    static boolean failed(Future<?> f) {
        if (!f.isDone() || f.isCancelled()) {
            return false;
        }
        try {
            f.get();
            return false;
        } catch (ExecutionException e) {
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public void close() {
        try {
            bar.close();
        } finally {
            tail.close();
        }
    }
}
