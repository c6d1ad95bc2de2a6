package io.kdstream.streams.internals;

import io.kdstream.avro.Alert;
import io.kdstream.avro.AlertState;
import io.kdstream.avro.AlertType;
import io.kdstream.avro.MonitorEvent;
import io.kdstream.avro.MonitorKind;
import io.kdstream.streams.Thresholds;
import io.kdstream.streams.internals.LossRatioState.Band;

import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Receives each closed loss-ratio window once (from {@link ClosingWindows}), in window order per run and trainer; publishes its
 * MonitorEvent, updates the moving average and the breach streak, and raises one FIRING alert when the ratio has been
 * on the same side outside the band for M contiguous windows, and one RESOLVED alert when it comes back. A missing
 * window (no steps) or an undefined ratio breaks the streak.
 */
public final class LossWindowEmitter implements Processor<Windowed<String>, LossAccumulator, String, Emission> {

    private static final Logger LOGGER = LoggerFactory.getLogger(LossWindowEmitter.class);

    private final String stateStoreName;
    private final String lateStoreName;
    private final Thresholds thresholds;
    private ProcessorContext<String, Emission> context;
    private KeyValueStore<String, LossRatioState> states;
    private KeyValueStore<String, Long> lateCounts;

    public LossWindowEmitter(String stateStoreName, String lateStoreName, Thresholds thresholds) {
        this.stateStoreName = stateStoreName;
        this.lateStoreName = lateStoreName;
        this.thresholds = thresholds;
    }

    @Override
    public void init(ProcessorContext<String, Emission> context) {
        this.context = context;
        this.states = context.getStateStore(stateStoreName);
        this.lateCounts = context.getStateStore(lateStoreName);
    }

    /** The state after one more closed window, and the alerts that window raises. */
    public record Step(LossRatioState state, List<Alert> alerts) {
    }

    /** Pure transition of the per-subject state for one closed window. */
    public static Step next(LossRatioState previous, SubjectKey key, long windowStart, long windowEnd,
                            Double ratio, Thresholds thresholds) {
        double alpha = thresholds.ewmaAlpha();
        double ewma = ratio == null ? previous.ewma()
                : Double.isNaN(previous.ewma()) ? ratio : alpha * ratio + (1.0 - alpha) * previous.ewma();
        Band band = Band.of(ratio, thresholds.bandLow(), thresholds.bandHigh());
        boolean contiguous = previous.lastWindowStart() != Long.MIN_VALUE
                && windowStart == previous.lastWindowStart() + thresholds.lossWindowAdvance().toMillis();
        int streak = !band.isBreach() ? 0
                : contiguous && previous.band() == band ? previous.streak() + 1 : 1;
        Band firing = previous.firing();
        List<Alert> alerts = new ArrayList<>(2);
        if (firing.isBreach() && band != Band.UNDEFINED && band != firing) {
            alerts.add(Alerts.lossRatioBand(key, typeOf(firing), AlertState.RESOLVED, ratio, boundOf(firing,
                    thresholds), windowStart, windowEnd, streak));
            firing = Band.WITHIN;
        }
        if (band.isBreach() && streak >= thresholds.consecutiveWindows() && firing != band) {
            alerts.add(Alerts.lossRatioBand(key, typeOf(band), AlertState.FIRING, ratio, boundOf(band, thresholds),
                    windowStart, windowEnd, streak));
            firing = band;
        }
        return new Step(new LossRatioState(windowStart, ewma, band, streak, firing), alerts);
    }

    private static AlertType typeOf(Band band) {
        return band == Band.ABOVE ? AlertType.LOSS_RATIO_ABOVE_BAND : AlertType.LOSS_RATIO_BELOW_BAND;
    }

    private static double boundOf(Band band, Thresholds thresholds) {
        return band == Band.ABOVE ? thresholds.bandHigh() : thresholds.bandLow();
    }

    @Override
    public void process(Record<Windowed<String>, LossAccumulator> record) {
        String encoded = record.key().key();
        SubjectKey key = SubjectKey.decode(encoded);
        long windowStart = record.key().window().start();
        long windowEnd = record.key().window().end();
        LossAccumulator acc = record.value();
        LossRatioState previous = states.get(encoded);
        Step step = next(previous == null ? LossRatioState.initial() : previous, key, windowStart, windowEnd,
                acc.ratio(), thresholds);
        states.put(encoded, step.state());
        Long late = lateCounts.get(encoded);
        MonitorEvent event = MonitorEvent.newBuilder()
                .setMonitor(MonitorKind.LOSS_RATIO)
                .setSubject(key.display())
                .setRunId(key.first())
                .setTrainerId(key.second())
                .setWindowStartMs(Instant.ofEpochMilli(windowStart))
                .setWindowEndMs(Instant.ofEpochMilli(windowEnd))
                .setRecords(acc.records())
                .setNonFiniteRecords(acc.nonFinite())
                .setLateRecordsDropped(late == null ? 0L : late)
                .setTaskLossSum(acc.sumTask())
                .setKdLossSum(acc.sumKd())
                .setFeatureLossSum(acc.sumFeature())
                .setLossRatio(acc.ratio())
                .setLossRatioEwma(step.state().ewmaOrNull())
                .setMeanTotalLoss(acc.meanTotalLoss())
                .setTotalLossTrend(acc.totalLossTrend())
                .setFirstStep(acc.firstStep())
                .setLastStep(acc.lastStep())
                .setConsecutiveBreaches(step.state().streak())
                .build();
        context.forward(record.withKey(key.first()).withValue(Emission.of(event)));
        for (Alert alert : step.alerts()) {
            LOGGER.info("alert type={} state={} subject={} ratio={} windowStart={} windowEnd={}", alert.getType(),
                    alert.getState(), alert.getSubject(), alert.getObservedValue(), windowStart, windowEnd);
            context.forward(record.withKey(key.first()).withValue(Emission.of(alert)));
        }
    }
}
