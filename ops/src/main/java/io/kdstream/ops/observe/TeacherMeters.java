package io.kdstream.ops.observe;

import io.kdstream.avro.FailureKind;
import io.kdstream.teacher.serve.TeacherMetrics;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The teacher-service meters: inputs, outputs, dead letters by kind, inference batches, committed and aborted
 * transactions (counters read from {@link TeacherMetrics} at scrape time); the fill of every inference batch (a
 * distribution in percent with buckets: {@code kdstream_teacher_batch_fill_percent_bucket/_sum/_count}); and the latency of every input
 * from the poll that returned it to the commit of its transaction (batched DJL inference plus the transaction), a timer
 * in seconds with a histogram ({@code kdstream_teacher_latency_seconds_bucket/_sum/_count}).
 */
public final class TeacherMeters implements MeterBinder {

    /**
     * Bucket bounds of the batch fill, in percent: Micrometer rounds a recorded value up to a whole number before it
     * finds its bucket, so a fraction in (0, 1] would always land in the bucket of 1.
     */
    static final double[] FILL_BUCKETS_PERCENT = {10, 25, 50, 75, 90, 100};

    private final TeacherMetrics metrics;

    public TeacherMeters(TeacherMetrics metrics) {
        this.metrics = Objects.requireNonNull(metrics, "metrics");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        counter(registry, "kdstream.teacher.inputs", "Inputs committed (outputs plus dead letters).", TeacherMetrics::inputs);
        counter(registry, "kdstream.teacher.outputs", "Teacher outputs committed.", TeacherMetrics::outputs);
        counter(registry, "kdstream.teacher.batches", "Inference batches.", TeacherMetrics::batches);
        counter(registry, "kdstream.teacher.transactions.committed", "Committed transactions.", TeacherMetrics::commits);
        counter(registry, "kdstream.teacher.transactions.aborted", "Aborted transactions.", TeacherMetrics::aborts);
        for (FailureKind kind : FailureKind.values()) {
            FunctionCounter.builder("kdstream.teacher.dead.letters", metrics, m -> m.deadLetters(kind))
                    .description("Dead letters committed, by failure kind.").tag("kind", kind.name()).register(registry);
        }
        DistributionSummary fill = DistributionSummary.builder("kdstream.teacher.batch.fill")
                .description("Occupancy of each inference batch, in percent of teacher.batch.max.size.").baseUnit("percent")
                .serviceLevelObjectives(FILL_BUCKETS_PERCENT)
                .register(registry);
        Timer latency = Timer.builder("kdstream.teacher.latency")
                .description("Latency of each input from poll to commit (batched DJL inference and the transaction).")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(60)).register(registry);
        metrics.addObserver((fills, latenciesNs) -> {
            for (double f : fills) {
                fill.record(100 * f);
            }
            for (long ns : latenciesNs) {
                latency.record(ns, TimeUnit.NANOSECONDS);
            }
        });
    }

    private void counter(MeterRegistry registry, String name, String description, ToDoubleFunction<TeacherMetrics> value) {
        FunctionCounter.builder(name, metrics, value).description(description).register(registry);
    }
}
