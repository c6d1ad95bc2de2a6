package io.kdstream.ops.observe;

import io.kdstream.avro.TrainingStep;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Trainer meters from {@code TrainingStep} records (as a trainer publishes them to the metrics topic): the DJL step
 * time (forward, backward and update) as a timer with percentiles, samples and steps as counters, non-finite steps,
 * dead-lettered records, and the latest task, KD and total loss as gauges; all tagged with trainer and group.
 * Thread-safe.
 */
public final class TrainingStepMeters {

    private final MeterRegistry registry;
    private final Map<String, PerTrainer> trainers = new ConcurrentHashMap<>();

    private static final class PerTrainer {
        final Timer step;
        final Counter samples;
        final Counter nonFinite;
        final DistributionSummary failures;
        final AtomicReference<TrainingStep> last = new AtomicReference<>();

        PerTrainer(MeterRegistry registry, String trainer, String group) {
            step = Timer.builder("kdstream.trainer.step").description("DJL step time: forward, backward and update.")
                    .tags("trainer", trainer, "group", group).publishPercentiles(0.5, 0.95, 0.99)
                    .register(registry);
            samples = Counter.builder("kdstream.trainer.samples").description("Examples trained on.")
                    .tags("trainer", trainer, "group", group).register(registry);
            nonFinite = Counter.builder("kdstream.trainer.steps.non.finite")
                    .description("Steps whose total loss was NaN or infinite.").tags("trainer", trainer, "group", group)
                    .register(registry);
            failures = DistributionSummary.builder("kdstream.trainer.dead.letters")
                    .description("Records dead-lettered, per step.").tags("trainer", trainer, "group", group)
                    .register(registry);
            for (String loss : new String[] {"task", "kd", "total"}) {
                Gauge.builder("kdstream.trainer.loss", last, r -> {
                    TrainingStep s = r.get();
                    if (s == null) {
                        return Double.NaN;
                    }
                    return switch (loss) {
                        case "task" -> s.getTaskLoss();
                        case "kd" -> s.getKdLoss();
                        default -> s.getTotalLoss();
                    };
                }).description("Loss of the latest step.").tags("trainer", trainer, "group", group, "term", loss)
                        .register(registry);
            }
        }
    }

    public TrainingStepMeters(MeterRegistry registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    /** Accounts for one published step. */
    public void record(TrainingStep s) {
        PerTrainer t = trainers.computeIfAbsent(s.getTrainerId() + "\u0000" + s.getGroup(),
                k -> new PerTrainer(registry, s.getTrainerId(), s.getGroup()));
        double ms = s.getStepLatencyMs();
        if (Double.isFinite(ms) && ms >= 0) {
            t.step.record(Duration.ofNanos((long) (ms * 1_000_000)));
        }
        t.samples.increment(s.getSamples());
        if (!Double.isFinite(s.getTotalLoss())) {
            t.nonFinite.increment();
        }
        t.failures.record(s.getFailures());
        t.last.set(s);
    }
}
