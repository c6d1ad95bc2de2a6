package io.kdstream.ops.observe;

import io.kdstream.avro.TrainingStep;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * Trainer meters from {@code TrainingStep} records (the ones a trainer publishes to the metrics topic), tagged with
 * run, trainer and group: the DJL step time (forward, backward and update) as a timer in seconds with a histogram,
 * samples and non-finite steps as counters, dead-lettered records per step as a distribution, and the latest step's
 * losses, temperature and step number as gauges. {@link #endRun} removes a run's series when the run ends.
 *
 * <p>Cheap on the training hot path: after a run's first step, {@link #record} finds the run's meters without a
 * lookup and updates them without allocating. Thread-safe.
 */
public final class TrainingStepMeters implements AutoCloseable {

    private final MeterRegistry registry;
    private final Map<Key, PerRun> runs = new ConcurrentHashMap<>();
    private volatile PerRun last;

    private record Key(String run, String trainer, String group) {
    }

    private static final class PerRun {
        final Key key;
        final List<Meter> meters = new ArrayList<>();
        final Timer step;
        final Counter samples;
        final Counter nonFinite;
        final DistributionSummary failures;
        volatile double task = Double.NaN;
        volatile double kd = Double.NaN;
        volatile double feature = Double.NaN;
        volatile double total = Double.NaN;
        volatile double temperature = Double.NaN;
        volatile double stepNumber = Double.NaN;

        PerRun(MeterRegistry registry, Key key) {
            this.key = key;
            Tags tags = Tags.of("run", key.run(), "trainer", key.trainer(), "group", key.group());
            step = add(Timer.builder("kdstream.trainer.step").description("DJL step time: forward, backward and update.")
                    .tags(tags).publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                    .maximumExpectedValue(Duration.ofSeconds(30)).register(registry));
            samples = add(Counter.builder("kdstream.trainer.samples").description("Examples trained on.").tags(tags)
                    .register(registry));
            nonFinite = add(Counter.builder("kdstream.trainer.steps.non.finite")
                    .description("Steps whose total loss was NaN or infinite.").tags(tags).register(registry));
            failures = add(DistributionSummary.builder("kdstream.trainer.dead.letters")
                    .description("Records dead-lettered, per step.").tags(tags).register(registry));
            loss(registry, tags, "task", r -> r.task);
            loss(registry, tags, "kd", r -> r.kd);
            loss(registry, tags, "feature", r -> r.feature);
            loss(registry, tags, "total", r -> r.total);
            add(Gauge.builder("kdstream.trainer.temperature", this, r -> r.temperature)
                    .description("KD temperature of the latest step.").tags(tags).register(registry));
            add(Gauge.builder("kdstream.trainer.last.step", this, r -> r.stepNumber)
                    .description("Number of the latest step.").tags(tags).register(registry));
        }

        private void loss(MeterRegistry registry, Tags tags, String term, ToDoubleFunction<PerRun> value) {
            add(Gauge.builder("kdstream.trainer.loss", this, value).description("Loss of the latest step, by term.")
                    .tags(tags).tag("term", term).register(registry));
        }

        private <M extends Meter> M add(M meter) {
            meters.add(meter);
            return meter;
        }

        boolean matches(TrainingStep s) {
            return key.run().equals(s.getRunId()) && key.trainer().equals(s.getTrainerId())
                    && key.group().equals(s.getGroup());
        }
    }

    public TrainingStepMeters(MeterRegistry registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    /** Accounts for one published step. */
    public void record(TrainingStep s) {
        PerRun r = last;
        if (r == null || !r.matches(s)) {
            r = runs.computeIfAbsent(new Key(s.getRunId(), s.getTrainerId(), s.getGroup()), k -> new PerRun(registry, k));
            last = r;
        }
        double ms = s.getStepLatencyMs();
        if (Double.isFinite(ms) && ms >= 0) {
            r.step.record((long) (ms * 1_000_000), TimeUnit.NANOSECONDS);
        }
        r.samples.increment(s.getSamples());
        if (!Double.isFinite(s.getTotalLoss())) {
            r.nonFinite.increment();
        }
        r.failures.record(s.getFailures());
        r.task = s.getTaskLoss();
        r.kd = s.getKdLoss();
        r.feature = s.getFeatureLoss();
        r.total = s.getTotalLoss();
        r.temperature = s.getTemperature();
        r.stepNumber = s.getStep();
    }

    /** Removes the series of run {@code runId} (of every trainer and group that reported it). */
    public void endRun(String runId) {
        runs.values().removeIf(r -> {
            if (!r.key.run().equals(runId)) {
                return false;
            }
            r.meters.forEach(registry::remove);
            return true;
        });
        PerRun r = last;
        if (r != null && r.key.run().equals(runId)) {
            last = null;
        }
    }

    /** The runs with series now. */
    public List<String> runs() {
        return runs.keySet().stream().map(Key::run).distinct().sorted().toList();
    }

    /** Removes every run's series. */
    @Override
    public void close() {
        runs().forEach(this::endRun);
    }
}
