package io.kdstream.streams.internals;

import io.kdstream.avro.Alert;
import io.kdstream.avro.TrainingStep;

import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Raises a NON_FINITE_LOSS alert as soon as a run and trainer reports a NaN or infinite loss, at most once per
 * window-size-aligned slot of event time, so a diverged trainer sending NaN on every step raises one alert per window,
 * not one per step. Every non-finite step is also counted in the window's MonitorEvent.
 */
public final class NonFiniteDetector implements Processor<String, TrainingStep, String, Alert> {

    private static final Logger LOGGER = LoggerFactory.getLogger(NonFiniteDetector.class);

    private final String storeName;
    private final long slotMs;
    private ProcessorContext<String, Alert> context;
    private KeyValueStore<String, Long> lastAlertedSlot;

    /**
     * @param storeName key-value store (String to Long): the slot of the last alert per key
     * @param slotMs    length of the event-time slot within which a key alerts at most once
     */
    public NonFiniteDetector(String storeName, long slotMs) {
        this.storeName = storeName;
        this.slotMs = slotMs;
    }

    @Override
    public void init(ProcessorContext<String, Alert> context) {
        this.context = context;
        this.lastAlertedSlot = context.getStateStore(storeName);
    }

    @Override
    public void process(Record<String, TrainingStep> record) {
        TrainingStep step = record.value();
        if (step == null || LossAccumulator.isFinite(step)) {
            return;
        }
        long timestamp = record.timestamp();
        long slot = timestamp - Math.floorMod(timestamp, slotMs);
        Long last = lastAlertedSlot.get(record.key());
        if (last != null && slot <= last) {
            LOGGER.debug("non-finite loss, alert already raised key={} step={} slot={}", record.key(),
                    step.getStep(), slot);
            return;
        }
        lastAlertedSlot.put(record.key(), slot);
        SubjectKey key = SubjectKey.decode(record.key());
        Alert alert = Alerts.nonFiniteLoss(key, step, timestamp);
        LOGGER.info("alert type={} subject={} step={}", alert.getType(), alert.getSubject(), step.getStep());
        context.forward(record.withKey(key.first()).withValue(alert));
    }
}
