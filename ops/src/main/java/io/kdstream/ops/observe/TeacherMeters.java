package io.kdstream.ops.observe;

import io.kdstream.avro.FailureKind;
import io.kdstream.teacher.serve.TeacherMetrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.util.Objects;
import java.util.function.ToDoubleFunction;

/**
 * The teacher-service counters as Micrometer meters, read from {@link TeacherMetrics} at scrape time: inputs, outputs,
 * dead letters by kind, inference batches and their fill, committed and aborted transactions, and the latency from
 * poll to commit (batched DJL inference plus the transaction) as 0.5/0.95/0.99 quantile gauges.
 */
public final class TeacherMeters implements MeterBinder {

    private final TeacherMetrics metrics;

    public TeacherMeters(TeacherMetrics metrics) {
        this.metrics = Objects.requireNonNull(metrics, "metrics");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        counter(registry, "kdstream.teacher.inputs", "Inputs committed (outputs plus dead letters).", s -> s.inputs());
        counter(registry, "kdstream.teacher.outputs", "Teacher outputs committed.", s -> s.outputs());
        counter(registry, "kdstream.teacher.batches", "Inference batches.", s -> s.batches());
        counter(registry, "kdstream.teacher.transactions.committed", "Committed transactions.", s -> s.commits());
        counter(registry, "kdstream.teacher.transactions.aborted", "Aborted transactions.", s -> s.aborts());
        for (FailureKind kind : FailureKind.values()) {
            FunctionCounter.builder("kdstream.teacher.dead.letters", metrics,
                            m -> m.snapshot().deadLetters().getOrDefault(kind, 0L))
                    .description("Dead letters committed, by failure kind.").tag("kind", kind.name()).register(registry);
        }
        Gauge.builder("kdstream.teacher.batch.fill", metrics, m -> m.snapshot().meanFill())
                .description("Mean occupancy of the inference batches, in (0, 1].").register(registry);
        quantile(registry, "0.5", s -> s.p50Ms());
        quantile(registry, "0.95", s -> s.p95Ms());
        quantile(registry, "0.99", s -> s.p99Ms());
    }

    private void counter(MeterRegistry registry, String name, String description,
                         ToDoubleFunction<TeacherMetrics.Snapshot> value) {
        FunctionCounter.builder(name, metrics, m -> value.applyAsDouble(m.snapshot())).description(description)
                .register(registry);
    }

    private void quantile(MeterRegistry registry, String q, ToDoubleFunction<TeacherMetrics.Snapshot> value) {
        Gauge.builder("kdstream.teacher.latency.ms", metrics, m -> value.applyAsDouble(m.snapshot()))
                .description("Latency from poll to commit over recent inputs (batched DJL inference and the transaction).")
                .tag("quantile", q).register(registry);
    }
}
