package io.kdstream.ops.demo;

import io.kdstream.avro.Alert;
import io.kdstream.avro.EvalResult;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.MonitorEvent;
import io.kdstream.avro.RunManifest;
import io.kdstream.avro.TrainingStep;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.core.kafka.Topics;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Phase 7: waits (a while) for the monitors to process every training step, then reads every result topic back from
 * the broker: what the summary and the report are drawn from.
 */
final class ReadBackPhase {

    private static final Logger LOGGER = LoggerFactory.getLogger(DemoRunner.class);
    static final Duration MONITOR_DRAIN = Duration.ofSeconds(30);

    /**
     * What the pipeline published.
     *
     * @param monitorsCaughtUp whether the monitors had processed every training step before the topics were read
     */
    record Output(boolean monitorsCaughtUp, List<TrainingStep> steps, List<EvalResult> evals,
                  List<FailureEvent> failures, List<MonitorEvent> monitorEvents, List<Alert> alerts,
                  List<RunManifest> runs) {
        String summary() {
            return String.format(Locale.ROOT,
                    "%,d steps, %d evaluations, %d dead letters, %d monitor windows, %d alerts, %d manifests",
                    steps.size(), evals.size(), failures.size(), monitorEvents.size(), alerts.size(), runs.size());
        }
    }

    private final DemoContext ctx;
    private final KdConfig config;

    ReadBackPhase(DemoContext ctx, KdConfig config) {
        this.ctx = ctx;
        this.config = config;
    }

    /** The line that starts the phase: the topics it reads. */
    static String announce(Topics topics) {
        return "reading the results back from " + topics.metrics() + ", " + topics.eval() + ", " + topics.dlq() + ", "
                + topics.monitors() + ", " + topics.alerts() + ", " + topics.runs();
    }

    Output run(Topics topics) {
        boolean drained = awaitMonitorsCaughtUp(topics.metrics());
        TopicReader reader = new TopicReader(config);
        return new Output(drained,
                reader.readAll(topics.metrics(), TrainingStep.class).records(),
                reader.readAll(topics.eval(), EvalResult.class).records(),
                reader.readAll(topics.dlq(), FailureEvent.class).records(),
                reader.readAll(topics.monitors(), MonitorEvent.class).records(),
                reader.readAll(topics.alerts(), Alert.class).records(),
                reader.readAll(topics.runs(), RunManifest.class).records());
    }

    /** Waits until the monitor application has committed its position at the end of the metrics topic. */
    private boolean awaitMonitorsCaughtUp(String metricsTopic) {
        long deadline = System.nanoTime() + MONITOR_DRAIN.toNanos();
        try (Admin admin = KafkaClients.admin(config);
             Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
            List<TopicPartition> tps = TopicReader.partitions(consumer, metricsTopic);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps, Duration.ofSeconds(30));
            while (System.nanoTime() < deadline) {
                ctx.checkStop();
                Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(
                        TopicsPhase.MONITOR_APP_ID, new ListConsumerGroupOffsetsOptions().timeoutMs(10_000))
                        .partitionsToOffsetAndMetadata().get(15, TimeUnit.SECONDS);
                if (caughtUp(tps, end, committed)) {
                    return true;
                }
                ctx.sleep(500);
            }
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DemoRunner.StoppedException();
        } catch (ExecutionException | TimeoutException e) {
            LOGGER.warn("Cannot read the monitor's offsets: {}", e.toString());
            return false;
        }
    }

    /** Whether every partition is empty or committed at its end. */
    static boolean caughtUp(List<TopicPartition> tps, Map<TopicPartition, Long> end,
                            Map<TopicPartition, OffsetAndMetadata> committed) {
        return tps.stream().allMatch(tp -> end.get(tp) == 0
                || committed.get(tp) != null && committed.get(tp).offset() >= end.get(tp));
    }
}
