package io.kdstream.streams.internals;

import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.BiPredicate;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Hopping (or tumbling) event-time windows per subject (the record key) that are published once when they close, and
 * close even when no record arrives. A window closes, in this order of precedence:
 * <ul>
 *   <li>in stream time: its end plus the grace period is at or before the close time, the newest event time seen
 *       by this task (as Kafka Streams' own windowed aggregations and {@code suppress(untilWindowCloses)});</li>
 *   <li>in a quiet period: while no record arrives, the close time keeps running with the wall clock from the last
 *       record on (newest event time plus the wall-clock time since the task processed its last record), checked
 *       by a wall-clock punctuator. Once a record arrives the close time is the newest event time again, so pauses
 *       never add up;</li>
 *   <li>when its run ended (optional): the runs store says the subject's run ended no earlier than the subject's
 *       newest event, and the subject has been quiet for one check interval: every open window of the subject is
 *       published.</li>
 * </ul>
 * Each closed window is forwarded once, per subject in window order, and remembered as closed per subject
 * ({@link WindowProgress}), in the same task state as the windows: with exactly-once processing a window is
 * published once across restarts. A record is added to each of its windows that is still open; a record for which
 * none is open (all ended more than the grace period before the close time, or were closed early) is dropped and
 * counted per subject as late. The close time and the newest event time are stored, so a restarted monitor still
 * closes windows in a quiet period.
 *
 * @param <V> record value
 * @param <A> window aggregate
 */
public final class ClosingWindows<V, A> implements Processor<String, V, Windowed<String>, WindowResult<A>> {

    /** Key of the task's clock in the progress store; subject keys start with a digit, so never collide with it. */
    static final String CLOCK_KEY = "#clock";

    private static final Logger LOGGER = LoggerFactory.getLogger(ClosingWindows.class);

    /**
     * What the windows are and how they close.
     *
     * @param monitor        monitor name, for logs
     * @param sizeMs         window size
     * @param advanceMs      window advance (the size for tumbling windows)
     * @param graceMs        grace period
     * @param closeWhenIdle  whether the close time runs with the wall clock while no record arrives
     * @param checkInterval  period of the wall-clock check
     * @param forwardUpdates whether every update of a window is forwarded too (not only its close)
     */
    public record Spec(String monitor, long sizeMs, long advanceMs, long graceMs, boolean closeWhenIdle,
                       Duration checkInterval, boolean forwardUpdates) {
        public Spec {
            Objects.requireNonNull(monitor, "monitor");
            Objects.requireNonNull(checkInterval, "checkInterval");
            if (sizeMs < 1 || advanceMs < 1 || advanceMs > sizeMs || graceMs < 0 || checkInterval.toMillis() < 1) {
                throw new IllegalArgumentException("invalid windows: size " + sizeMs + ", advance " + advanceMs
                        + ", grace " + graceMs + ", check interval " + checkInterval);
            }
        }
    }

    /**
     * Names of the stores.
     *
     * @param windows  window store (subject to aggregate) of the open and recently closed windows
     * @param progress key-value store (subject to {@link WindowProgress}, plus the task's clock)
     * @param late     key-value store (subject to Long) of the late-record counts
     * @param runs     global key-value store (run id to {@link RunEnd}), or null without run-end closing
     */
    public record Stores(String windows, String progress, String late, String runs) {
        public Stores {
            Objects.requireNonNull(windows, "windows");
            Objects.requireNonNull(progress, "progress");
            Objects.requireNonNull(late, "late");
        }
    }

    private final Spec spec;
    private final Stores names;
    private final Supplier<A> initializer;
    private final BiFunction<A, V, A> aggregator;
    private final Function<String, String> runOfSubject;
    private final Map<String, Long> lastRecordWall = new HashMap<>();
    private ProcessorContext<Windowed<String>, WindowResult<A>> context;
    private WindowStore<String, A> windows;
    private KeyValueStore<String, WindowProgress> progress;
    private KeyValueStore<String, Long> lateCounts;
    private KeyValueStore<String, RunEnd> runs;
    private long observed = Long.MIN_VALUE;
    private long closeTime = Long.MIN_VALUE;
    private long taskLastRecordWall;
    private long startWall;

    /**
     * @param runOfSubject the run id of a subject key; used only with a runs store
     */
    public ClosingWindows(Spec spec, Stores names, Supplier<A> initializer, BiFunction<A, V, A> aggregator,
                          Function<String, String> runOfSubject) {
        this.spec = Objects.requireNonNull(spec, "spec");
        this.names = Objects.requireNonNull(names, "names");
        this.initializer = Objects.requireNonNull(initializer, "initializer");
        this.aggregator = Objects.requireNonNull(aggregator, "aggregator");
        this.runOfSubject = runOfSubject;
        if (names.runs() != null && runOfSubject == null) {
            throw new IllegalArgumentException("closing windows at a run's end needs the run of each subject");
        }
    }

    @Override
    public void init(ProcessorContext<Windowed<String>, WindowResult<A>> context) {
        this.context = context;
        this.windows = context.getStateStore(names.windows());
        this.progress = context.getStateStore(names.progress());
        this.lateCounts = context.getStateStore(names.late());
        this.runs = names.runs() == null ? null : context.getStateStore(names.runs());
        WindowProgress clock = progress.get(CLOCK_KEY);
        if (clock != null) {
            closeTime = clock.closedThrough();
            observed = clock.lastEventMs();
        }
        startWall = context.currentSystemTimeMs();
        taskLastRecordWall = startWall;
        context.schedule(spec.checkInterval(), PunctuationType.WALL_CLOCK_TIME, this::check);
    }

    /** Start of the oldest window that contains {@code timestamp} (windows start at 0 or later, as Kafka's). */
    public static long firstWindowStart(long timestamp, long sizeMs, long advanceMs) {
        long earliest = Math.max(0, timestamp - sizeMs + advanceMs);
        return earliest - earliest % advanceMs;
    }

    @Override
    public void process(Record<String, V> record) {
        String key = record.key();
        if (key == null || record.value() == null) {
            return;
        }
        long ts = record.timestamp();
        long now = context.currentSystemTimeMs();
        taskLastRecordWall = now;
        lastRecordWall.put(key, now);
        observed = Math.max(observed, ts);
        long previousClose = closeTime;
        closeTime = Math.max(closeTime, observed);
        saveClock();
        // closed windows go out before the record's windows are written: a write can expire old segments
        closeDueWindows(previousClose, "stream time");
        WindowProgress subject = progressOf(key);
        boolean counted = false;
        for (long start = firstWindowStart(ts, spec.sizeMs(), spec.advanceMs()); start <= ts;
             start += spec.advanceMs()) {
            if (!isOpen(subject, start)) {
                continue;
            }
            A previous = windows.fetch(key, start);
            A updated = aggregator.apply(previous == null ? initializer.get() : previous, record.value());
            windows.put(key, updated, start);
            counted = true;
            if (spec.forwardUpdates()) {
                context.forward(new Record<>(windowed(key, start), new WindowResult<>(updated, false), ts));
            }
        }
        if (!counted) {
            countLate(key, ts);
        }
        progress.put(key, subject.withEvent(ts));
    }

    private boolean isOpen(WindowProgress subject, long windowStart) {
        return !subject.isClosed(windowStart) && windowStart + spec.sizeMs() + spec.graceMs() > closeTime;
    }

    private WindowProgress progressOf(String key) {
        WindowProgress p = progress.get(key);
        return p == null ? WindowProgress.none() : p;
    }

    private Windowed<String> windowed(String key, long start) {
        return new Windowed<>(key, new EventWindow(start, start + spec.sizeMs()));
    }

    /** The start of the newest window that is closed at close time {@code time}. */
    private long closedLimit(long time) {
        return time - spec.graceMs() - spec.sizeMs();
    }

    /** Publishes the windows the close time passed since {@code previousClose}. */
    private void closeDueWindows(long previousClose, String reason) {
        if (closeTime == Long.MIN_VALUE || closeTime == previousClose) {
            return;
        }
        long limit = closedLimit(closeTime);
        if (limit < 0) {
            return;
        }
        long from = 0;
        if (previousClose != Long.MIN_VALUE) {
            long previousLimit = closedLimit(previousClose);
            if (Math.floorDiv(previousLimit, spec.advanceMs()) == Math.floorDiv(limit, spec.advanceMs())) {
                return;
            }
            from = Math.max(0, previousLimit - spec.advanceMs());
        }
        close(from, limit, (key, start) -> true, reason);
    }

    /** The wall-clock check: quiet-period closes, then run-end closes. */
    void check(long now) {
        if (observed == Long.MIN_VALUE) {
            return;
        }
        if (spec.closeWhenIdle()) {
            long idle = now - taskLastRecordWall;
            long previousClose = closeTime;
            if (idle > 0 && observed + idle > closeTime) {
                closeTime = observed + idle;
                saveClock();
                closeDueWindows(previousClose, "quiet period");
            }
        }
        if (runs != null) {
            closeEndedRuns(now);
        }
        lastRecordWall.values().removeIf(wall -> now - wall >= spec.checkInterval().toMillis());
    }

    private void closeEndedRuns(long now) {
        long from = Math.max(0, closedLimit(closeTime));
        Set<String> open = new HashSet<>();
        try (KeyValueIterator<Windowed<String>, A> all = windows.fetchAll(from, Long.MAX_VALUE)) {
            while (all.hasNext()) {
                Windowed<String> window = all.next().key;
                open.add(window.key());
            }
        }
        Set<String> ended = new HashSet<>();
        for (String key : open) {
            RunEnd end = runs.get(runOfSubject.apply(key));
            if (end == null) {
                continue;
            }
            WindowProgress subject = progressOf(key);
            long quiet = now - lastRecordWall.getOrDefault(key, Math.min(startWall, taskLastRecordWall));
            if (end.endedAfter(subject.lastEventMs()) && quiet >= spec.checkInterval().toMillis()) {
                ended.add(key);
            }
        }
        if (!ended.isEmpty()) {
            close(from, Long.MAX_VALUE, (key, start) -> ended.contains(key), "run ended");
        }
    }

    /** Closes, in window order per subject, the open windows starting in [from, to] that {@code due} selects. */
    private void close(long from, long to, BiPredicate<String, Long> due, String reason) {
        Map<String, WindowProgress> subjects = new HashMap<>();
        List<KeyValue<Windowed<String>, A>> closing = new ArrayList<>();
        try (KeyValueIterator<Windowed<String>, A> all = windows.fetchAll(from, to)) {
            while (all.hasNext()) {
                KeyValue<Windowed<String>, A> entry = all.next();
                String key = entry.key.key();
                long start = entry.key.window().start();
                WindowProgress subject = subjects.computeIfAbsent(key, this::progressOf);
                if (!subject.isClosed(start) && due.test(key, start)) {
                    closing.add(entry);
                }
            }
        }
        closing.sort(Comparator.<KeyValue<Windowed<String>, A>, String>comparing(e -> e.key.key())
                .thenComparingLong(e -> e.key.window().start()));
        for (KeyValue<Windowed<String>, A> entry : closing) {
            String key = entry.key.key();
            long start = entry.key.window().start();
            long end = start + spec.sizeMs();
            subjects.put(key, subjects.get(key).withClosedThrough(start));
            // the window's end, or the close time when the window closed before its end (run ended): never a
            // record timestamp ahead of what the monitor has seen or waited for
            long timestamp = Math.min(end, Math.max(closeTime, start));
            context.forward(new Record<>(windowed(key, start), new WindowResult<>(entry.value, true), timestamp));
            LOGGER.debug("window closed monitor={} key={} start={} end={} by={}", spec.monitor(), key, start, end,
                    reason);
        }
        Set<String> changed = new HashSet<>();
        closing.forEach(e -> changed.add(e.key.key()));
        for (String key : changed) {
            progress.put(key, subjects.get(key));
        }
        if (!closing.isEmpty() && !"stream time".equals(reason)) {
            LOGGER.info("windows closed monitor={} count={} subjects={} by={} closeTimeMs={}", spec.monitor(),
                    closing.size(), changed.size(), reason, closeTime);
        }
    }

    private void saveClock() {
        progress.put(CLOCK_KEY, new WindowProgress(closeTime, observed));
    }

    private void countLate(String key, long timestamp) {
        Long previous = lateCounts.get(key);
        long count = previous == null ? 1 : previous + 1;
        lateCounts.put(key, count);
        if (count == 1 || count % 1000 == 0) {
            LOGGER.info("late records dropped monitor={} key={} count={} lastTimestampMs={} closeTimeMs={} "
                    + "graceMs={}", spec.monitor(), key, count, timestamp, closeTime, spec.graceMs());
        } else {
            LOGGER.debug("late record dropped monitor={} key={} timestampMs={} closeTimeMs={}", spec.monitor(), key,
                    timestamp, closeTime);
        }
    }
}
