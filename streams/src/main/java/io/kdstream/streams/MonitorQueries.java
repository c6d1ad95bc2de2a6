package io.kdstream.streams;

import io.kdstream.streams.internals.LossAccumulator;
import io.kdstream.streams.internals.LossRatioState;
import io.kdstream.streams.internals.SubjectKey;

import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.apache.kafka.streams.state.ReadOnlyWindowStore;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Interactive queries over this instance's monitor stores: the open and recently closed windows and the per-subject
 * state. Each call reads the stores afresh; a store that is not queryable (the instance is rebalancing or restoring)
 * surfaces as Kafka's {@code InvalidStateStoreException}.
 */
public final class MonitorQueries {

    private final Supplier<ReadOnlyWindowStore<String, LossAccumulator>> lossWindows;
    private final Supplier<ReadOnlyKeyValueStore<String, LossRatioState>> lossStates;
    private final Supplier<ReadOnlyKeyValueStore<String, Long>> lossLate;
    private final Supplier<ReadOnlyWindowStore<String, Long>> failureCounts;
    private final Supplier<ReadOnlyKeyValueStore<String, Long>> failureLate;

    public MonitorQueries(Supplier<ReadOnlyWindowStore<String, LossAccumulator>> lossWindows,
                          Supplier<ReadOnlyKeyValueStore<String, LossRatioState>> lossStates,
                          Supplier<ReadOnlyKeyValueStore<String, Long>> lossLate,
                          Supplier<ReadOnlyWindowStore<String, Long>> failureCounts,
                          Supplier<ReadOnlyKeyValueStore<String, Long>> failureLate) {
        this.lossWindows = Objects.requireNonNull(lossWindows, "lossWindows");
        this.lossStates = Objects.requireNonNull(lossStates, "lossStates");
        this.lossLate = Objects.requireNonNull(lossLate, "lossLate");
        this.failureCounts = Objects.requireNonNull(failureCounts, "failureCounts");
        this.failureLate = Objects.requireNonNull(failureLate, "failureLate");
    }

    /** Queries over the local stores of a running application. */
    public static MonitorQueries of(KafkaStreams streams) {
        return new MonitorQueries(
                () -> streams.store(StoreQueryParameters.fromNameAndType(LossRatioMonitor.WINDOW_STORE,
                        QueryableStoreTypes.<String, LossAccumulator>windowStore())),
                () -> streams.store(StoreQueryParameters.fromNameAndType(LossRatioMonitor.STATE_STORE,
                        QueryableStoreTypes.<String, LossRatioState>keyValueStore())),
                () -> streams.store(StoreQueryParameters.fromNameAndType(LossRatioMonitor.LATE_STORE,
                        QueryableStoreTypes.<String, Long>keyValueStore())),
                () -> streams.store(StoreQueryParameters.fromNameAndType(FailureCountMonitor.WINDOW_STORE,
                        QueryableStoreTypes.<String, Long>windowStore())),
                () -> streams.store(StoreQueryParameters.fromNameAndType(FailureCountMonitor.LATE_STORE,
                        QueryableStoreTypes.<String, Long>keyValueStore())));
    }

    /** One loss-ratio window of one trainer (open, or closed and still retained). */
    public record LossWindowView(String trainerId, long windowStartMs, long windowEndMs, long records,
                                 long nonFiniteRecords, double taskLossSum, double kdLossSum, double featureLossSum,
                                 Double lossRatio, Double meanTotalLoss, Double totalLossTrend, Long firstStep,
                                 Long lastStep) {
    }

    /** The cross-window state of one trainer of the run. */
    public record TrainerView(String trainerId, Long lastClosedWindowStartMs, Double lossRatioEwma, String band,
                              int consecutiveBreaches, String firing, long lateRecordsDropped) {
    }

    /** Everything known about one run. */
    public record LossRatioView(String runId, List<LossWindowView> windows, List<TrainerView> trainers) {
    }

    /** One failure-count window. */
    public record FailureWindowView(String component, String failureKind, long windowStartMs, long windowEndMs,
                                    long count) {
    }

    /** Late failures dropped for one component and kind. */
    public record LateView(String component, String failureKind, long lateRecordsDropped) {
    }

    /** All failure-count windows and late counts. */
    public record FailuresView(List<FailureWindowView> windows, List<LateView> late) {
    }

    /** The windows and trainer states of a run, or empty when this instance knows nothing about it. */
    public Optional<LossRatioView> lossRatio(String runId) {
        String prefix = SubjectKey.prefixOf(runId);
        List<LossWindowView> windows = new ArrayList<>();
        try (KeyValueIterator<Windowed<String>, LossAccumulator> all = lossWindows.get().all()) {
            while (all.hasNext()) {
                KeyValue<Windowed<String>, LossAccumulator> entry = all.next();
                String encoded = entry.key.key();
                if (!encoded.startsWith(prefix)) {
                    continue;
                }
                SubjectKey key = SubjectKey.decode(encoded);
                if (!key.first().equals(runId)) {
                    continue;
                }
                LossAccumulator acc = entry.value;
                windows.add(new LossWindowView(key.second(), entry.key.window().start(), entry.key.window().end(),
                        acc.records(), acc.nonFinite(), acc.sumTask(), acc.sumKd(), acc.sumFeature(), acc.ratio(),
                        acc.meanTotalLoss(), acc.totalLossTrend(), acc.firstStep(), acc.lastStep()));
            }
        }
        windows.sort(Comparator.comparing(LossWindowView::trainerId).thenComparingLong(LossWindowView::windowStartMs));
        List<TrainerView> trainers = new ArrayList<>();
        ReadOnlyKeyValueStore<String, Long> late = lossLate.get();
        try (KeyValueIterator<String, LossRatioState> states = lossStates.get().prefixScan(prefix,
                new StringSerializer())) {
            while (states.hasNext()) {
                KeyValue<String, LossRatioState> entry = states.next();
                SubjectKey key = SubjectKey.decode(entry.key);
                if (!key.first().equals(runId)) {
                    continue;
                }
                LossRatioState s = entry.value;
                Long lateCount = late.get(entry.key);
                trainers.add(new TrainerView(key.second(),
                        s.lastWindowStart() == Long.MIN_VALUE ? null : s.lastWindowStart(), s.ewmaOrNull(),
                        s.band().name(), s.streak(), s.firing().isBreach() ? s.firing().name() : null,
                        lateCount == null ? 0 : lateCount));
            }
        }
        trainers.sort(Comparator.comparing(TrainerView::trainerId));
        if (windows.isEmpty() && trainers.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new LossRatioView(runId, windows, trainers));
    }

    /** All retained failure-count windows and late counts. */
    public FailuresView failures() {
        List<FailureWindowView> windows = new ArrayList<>();
        try (KeyValueIterator<Windowed<String>, Long> all = failureCounts.get().all()) {
            while (all.hasNext()) {
                KeyValue<Windowed<String>, Long> entry = all.next();
                SubjectKey key = SubjectKey.decode(entry.key.key());
                windows.add(new FailureWindowView(key.first(), key.second(), entry.key.window().start(),
                        entry.key.window().end(), entry.value == null ? 0 : entry.value));
            }
        }
        windows.sort(Comparator.comparing(FailureWindowView::component).thenComparing(FailureWindowView::failureKind)
                .thenComparingLong(FailureWindowView::windowStartMs));
        List<LateView> late = new ArrayList<>();
        try (KeyValueIterator<String, Long> all = failureLate.get().all()) {
            while (all.hasNext()) {
                KeyValue<String, Long> entry = all.next();
                SubjectKey key = SubjectKey.decode(entry.key);
                late.add(new LateView(key.first(), key.second(), entry.value == null ? 0 : entry.value));
            }
        }
        late.sort(Comparator.comparing(LateView::component).thenComparing(LateView::failureKind));
        return new FailuresView(windows, late);
    }
}
