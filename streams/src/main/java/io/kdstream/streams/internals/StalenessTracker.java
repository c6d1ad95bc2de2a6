package io.kdstream.streams.internals;

import io.kdstream.avro.Alert;
import io.kdstream.avro.AlertState;
import io.kdstream.avro.TrainingStep;

import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Remembers, per trainer (the record key), its last step and the wall-clock time the monitor processed it. A
 * wall-clock punctuator raises one TRAINER_STALE alert when a trainer has been silent longer than the threshold; the
 * next step from that trainer raises the RESOLVED alert. Wall clock, not stream time: when every trainer stops,
 * stream time stops too, and the silence would never be noticed.
 *
 * <p>A trainer whose run finished is not stale: when the runs store says the run of its last step FINISHED no
 * earlier than that step, the trainer is forgotten instead of reported (and a staleness alert already firing for it
 * is resolved). A trainer whose run FAILED, or that stopped without a final manifest, is reported as before.
 */
public final class StalenessTracker implements Processor<String, TrainingStep, String, Alert> {

    private static final Logger LOGGER = LoggerFactory.getLogger(StalenessTracker.class);

    private final String storeName;
    private final long thresholdMs;
    private final Duration checkInterval;
    private final String runsStoreName;
    private ProcessorContext<String, Alert> context;
    private KeyValueStore<String, TrainerActivity> activity;
    private KeyValueStore<String, RunEnd> runs;

    /**
     * @param runsStoreName global store of ended runs (run id to {@link RunEnd}), or null to report every silent
     *                      trainer
     */
    public StalenessTracker(String storeName, Duration threshold, Duration checkInterval, String runsStoreName) {
        this.storeName = storeName;
        this.thresholdMs = threshold.toMillis();
        this.checkInterval = checkInterval;
        this.runsStoreName = runsStoreName;
    }

    @Override
    public void init(ProcessorContext<String, Alert> context) {
        this.context = context;
        this.activity = context.getStateStore(storeName);
        this.runs = runsStoreName == null ? null : context.getStateStore(runsStoreName);
        context.schedule(checkInterval, PunctuationType.WALL_CLOCK_TIME, this::check);
    }

    @Override
    public void process(Record<String, TrainingStep> record) {
        TrainingStep step = record.value();
        if (step == null) {
            return;
        }
        long now = context.currentSystemTimeMs();
        TrainerActivity previous = activity.get(record.key());
        TrainerActivity current = new TrainerActivity(step.getRunId(), step.getStep(), record.timestamp(), now,
                false);
        activity.put(record.key(), current);
        if (previous != null && previous.stale()) {
            long silence = now - previous.lastSeenWallMs();
            Alert resolved = Alerts.stale(record.key(), current, AlertState.RESOLVED, silence, thresholdMs, now);
            LOGGER.info("alert type={} state={} subject={} silenceMs={}", resolved.getType(), resolved.getState(),
                    resolved.getSubject(), silence);
            context.forward(new Record<>(record.key(), resolved, now));
        }
    }

    /** One staleness check at wall-clock time {@code now}. */
    void check(long now) {
        List<KeyValue<String, TrainerActivity>> silent = new ArrayList<>();
        List<KeyValue<String, TrainerActivity>> finished = new ArrayList<>();
        try (KeyValueIterator<String, TrainerActivity> all = activity.all()) {
            while (all.hasNext()) {
                KeyValue<String, TrainerActivity> entry = all.next();
                boolean quiet = now - entry.value.lastSeenWallMs() > thresholdMs;
                if (quiet && hasFinished(entry.value)) {
                    finished.add(entry);
                } else if (quiet && !entry.value.stale()) {
                    silent.add(entry);
                }
            }
        }
        for (KeyValue<String, TrainerActivity> entry : finished) {
            forgetFinished(entry.key, entry.value, now);
        }
        for (KeyValue<String, TrainerActivity> entry : silent) {
            long silence = now - entry.value.lastSeenWallMs();
            activity.put(entry.key, entry.value.withStale(true));
            Alert alert = Alerts.stale(entry.key, entry.value, AlertState.FIRING, silence, thresholdMs, now);
            LOGGER.info("alert type={} state={} subject={} silenceMs={}", alert.getType(), alert.getState(),
                    alert.getSubject(), silence);
            context.forward(new Record<>(entry.key, alert, now));
        }
    }

    /** Whether the run of the trainer's last step finished, no earlier than that step. */
    private boolean hasFinished(TrainerActivity trainer) {
        if (runs == null) {
            return false;
        }
        RunEnd end = runs.get(trainer.runId());
        return end != null && end.finished() && end.endedAfter(trainer.lastStepTimeMs());
    }

    private void forgetFinished(String trainerId, TrainerActivity trainer, long now) {
        activity.delete(trainerId);
        long silence = now - trainer.lastSeenWallMs();
        LOGGER.info("trainer finished its run trainer={} run={} lastStep={}; not reported stale", trainerId,
                trainer.runId(), trainer.lastStep());
        if (trainer.stale()) {
            Alert resolved = Alerts.stale(trainerId, trainer, AlertState.RESOLVED, silence, thresholdMs, now);
            resolved.setMessage("trainer " + trainerId + " (run " + trainer.runId() + ") finished its run at step "
                    + trainer.lastStep());
            context.forward(new Record<>(trainerId, resolved, now));
        }
    }
}
