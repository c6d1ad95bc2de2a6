package io.kdstream.trainer;

import io.kdstream.avro.PartitionRange;
import io.kdstream.core.KdException;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.core.zoo.Architecture;
import io.kdstream.trainer.source.TopicRanges;
import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.source.BatchReader;
import io.kdstream.trainer.source.RecordDecoder;
import io.kdstream.trainer.state.TrainingCore;

import org.apache.kafka.clients.consumer.ConsumerConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Measures the trainer fed from Kafka against the identical training loop fed from memory with the same batches:
 * samples per second of each and their ratio, plus a per-step time breakdown of the Kafka-fed run. A benchmark, not
 * a test: it asserts nothing.
 */
public final class TrainerBenchmark {
    private static final int WARMUP_STEPS = 20;

    private TrainerBenchmark() {
    }

    /**
     * The figures of one benchmark run.
     *
     * @param steps          steps of each measured loop
     * @param batchSize      examples per step
     * @param kafkaSamplesPerSecond  the full trainer, reading, decoding and publishing through Kafka
     * @param memorySamplesPerSecond the same training steps over batches already in memory
     * @param timings        where the Kafka-fed run spent its time
     */
    public record Report(String student, long steps, int batchSize, double kafkaSamplesPerSecond, double memorySamplesPerSecond,
                         Trainer.Timings timings) {
        public double ratio() {
            return kafkaSamplesPerSecond / memorySamplesPerSecond;
        }

        public String format() {
            double perStep = 1e6 * steps;
            return String.format(Locale.ROOT, """
                    student: %s, batch size: %d, steps: %d
                    kafka-fed:  %.0f samples/s
                    memory-fed: %.0f samples/s
                    ratio (kafka / memory): %.3f
                    first batch after %.0f ms (start-up, excluded from the rate)
                    per step (ms): decode %.3f (reader thread, overlapped), wait for batch %.3f, forward+backward %.3f, \
                    optimizer %.3f, publish %.3f, loop total %.3f""",
                    student, batchSize, steps, kafkaSamplesPerSecond, memorySamplesPerSecond, ratio(),
                    timings.firstBatchNanos() / 1e6, timings.decodeNanos() / perStep, timings.waitNanos() / perStep, timings.forwardBackwardNanos() / perStep,
                    timings.optimizerNanos() / perStep, timings.publishNanos() / perStep, timings.loopNanos() / perStep);
        }
    }

    /** Runs the benchmark with {@code props} (connection and training settings) over {@code steps} steps. */
    public static Report run(Map<String, Object> props, long steps) {
        Path dir;
        try {
            dir = Files.createTempDirectory("kdstream-bench-");
        } catch (IOException e) {
            throw new KdException("Cannot create a benchmark directory: " + e.getMessage(), e);
        }
        Map<String, Object> p = new HashMap<>(props);
        p.put(TrainerConfig.MAX_STEPS_CONFIG, Long.toString(steps));
        p.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "0");
        p.put(TrainerConfig.CHECKPOINT_INTERVAL_CONFIG, Long.toString(Math.max(1, steps)));
        p.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, dir.resolve("kafka").toString());
        TrainerConfig config = new TrainerConfig(p);
        String topic = config.readsInputs() ? config.topics().inputs() : config.topics().teacherOutputs();
        Architecture architecture = StudentArchitectures.resolve(config, topic, config.readsInputs(), () -> false);

        // Warm up the engine so neither measured loop pays for it.
        List<Batch> warmup = readBatches(config, architecture, null, WARMUP_STEPS);
        try (TrainingCore core = new TrainingCore(config, architecture)) {
            for (int i = 0; i < warmup.size(); i++) {
                core.step(warmup.get(i), i);
            }
        }

        Trainer.Result kafka;
        try (Trainer trainer = Trainer.builder().setConfig(config).build()) {
            kafka = trainer.run();
        }
        // steady state: from the arrival of the first batch (connecting and the first fetch are start-up)
        double kafkaRate = kafka.samples() / ((kafka.timings().loopNanos() - Math.max(0, kafka.timings().firstBatchNanos())) / 1e9);

        List<Batch> batches = readBatches(config, architecture, kafka.manifest() == null ? null : kafka.manifest().getRanges(),
                kafka.steps());
        long samples = 0;
        long t0;
        long t1;
        try (TrainingCore core = new TrainingCore(config, architecture)) {
            t0 = System.nanoTime();
            for (int i = 0; i < batches.size(); i++) {
                if (core.step(batches.get(i), i).applied()) {
                    samples += batches.get(i).size();
                }
            }
            t1 = System.nanoTime();
        }
        double memoryRate = samples / ((t1 - t0) / 1e9);
        return new Report(architecture.name(), kafka.steps(), config.batchSize(), kafkaRate, memoryRate, kafka.timings());
    }

    /** The first {@code steps} batches of the run's sequence, read into memory. */
    private static List<Batch> readBatches(TrainerConfig config, Architecture architecture, List<PartitionRange> ranges, long steps) {
        List<PartitionRange> r = ranges != null ? ranges : snapshot(config);
        // the same decoding as the run: InputRecords for the EMA teacher alone, teacher outputs otherwise
        RecordDecoder decoder = RecordDecoders.forRun(config, architecture, RecordDecoders.teacherOutputs(config, architecture, false));
        List<Batch> out = new ArrayList<>();
        try (BatchReader reader = new BatchReader(
                () -> KafkaClients.consumer(config, null, Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1000)), r,
                Trainer.startCursor(r), config.epochs(), config.seed(), config.batchSize(), config.shuffleBuffer(),
                architecture.inputSize(), architecture.numClasses(), decoder, (record, cause) -> { }, config.prefetchBatches())) {
            reader.start();
            while (out.size() < steps) {
                Batch b = reader.take();
                if (b == null) {
                    break;
                }
                out.add(b);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KdException("Benchmark interrupted", e);
        }
        return out;
    }

    private static List<PartitionRange> snapshot(TrainerConfig config) {
        String topic = config.readsInputs() ? config.topics().inputs() : config.topics().teacherOutputs();
        try (var consumer = KafkaClients.consumer(config, null, Map.of())) {
            return TopicRanges.of(consumer, topic);
        }
    }
}
