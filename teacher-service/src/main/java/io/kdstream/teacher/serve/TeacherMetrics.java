package io.kdstream.teacher.serve;

import io.kdstream.avro.FailureKind;

import java.util.Arrays;
import java.util.EnumMap;
import java.util.Locale;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;

/**
 * Counters of a running teacher-service, shared by its workers: inputs, outputs, dead letters per kind, batches and
 * their fill, committed transactions and aborts, and a window of recent per-input latencies (from the poll that
 * returned the input to the commit of its transaction) for the percentiles of the log line. Thread-safe.
 *
 * <p>A metrics registry reads the counters through the accessors and follows the per-batch fill and the per-input
 * latencies through an {@link Observer}, so it can keep its own histograms; this library depends on none.
 */
public final class TeacherMetrics {

    private static final int LATENCY_WINDOW = 8_192;

    private final AtomicLong inputs = new AtomicLong();
    private final AtomicLong outputs = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();
    private final DoubleAdder fillSum = new DoubleAdder();
    private final AtomicLong commits = new AtomicLong();
    private final AtomicLong aborts = new AtomicLong();
    private final Map<FailureKind, AtomicLong> deadLetters = new EnumMap<>(FailureKind.class);
    private final long[] latenciesNs = new long[LATENCY_WINDOW];
    private long latencyCount;
    private final long startNs = System.nanoTime();
    private final List<Observer> observers = new CopyOnWriteArrayList<>();

    /** Follows what {@link #recordCommit} records: called on the worker thread, so it must be cheap. */
    public interface Observer {
        /** One committed transaction's inference batches (their fill in (0, 1]) and per-input latencies. */
        void committed(double[] batchFills, long[] perInputLatencyNs);
    }

    public TeacherMetrics() {
        for (FailureKind k : FailureKind.values()) {
            deadLetters.put(k, new AtomicLong());
        }
    }

    /** A committed transaction: its inputs, outputs, dead letters per kind, inference batch sizes and latencies. */
    public void recordCommit(int inputCount, int outputCount, Map<FailureKind, Integer> failures, int[] batchSizes,
            double[] batchFills, long[] perInputLatencyNs) {
        inputs.addAndGet(inputCount);
        outputs.addAndGet(outputCount);
        failures.forEach((k, v) -> deadLetters.get(k).addAndGet(v));
        batches.addAndGet(batchSizes.length);
        for (double f : batchFills) {
            fillSum.add(f);
        }
        commits.incrementAndGet();
        synchronized (latenciesNs) {
            for (long l : perInputLatencyNs) {
                latenciesNs[(int) (latencyCount++ % LATENCY_WINDOW)] = l;
            }
        }
        for (Observer o : observers) {
            o.committed(batchFills, perInputLatencyNs);
        }
    }

    /** Adds an observer of the commits recorded from now on. */
    public void addObserver(Observer observer) {
        observers.add(Objects.requireNonNull(observer, "observer"));
    }

    /** Inputs committed so far (outputs plus dead letters). */
    public long inputs() {
        return inputs.get();
    }

    /** Teacher outputs committed so far. */
    public long outputs() {
        return outputs.get();
    }

    /** Dead letters of {@code kind} committed so far. */
    public long deadLetters(FailureKind kind) {
        return deadLetters.get(kind).get();
    }

    /** Inference batches so far. */
    public long batches() {
        return batches.get();
    }

    /** Committed transactions so far. */
    public long commits() {
        return commits.get();
    }

    /** Aborted transactions so far. */
    public long aborts() {
        return aborts.get();
    }

    public void recordAbort() {
        aborts.incrementAndGet();
    }

    /** A point-in-time copy of the counters. */
    public Snapshot snapshot() {
        long[] window;
        synchronized (latenciesNs) {
            int n = (int) Math.min(latencyCount, LATENCY_WINDOW);
            window = Arrays.copyOf(latenciesNs, n);
        }
        Arrays.sort(window);
        Map<FailureKind, Long> dl = new EnumMap<>(FailureKind.class);
        deadLetters.forEach((k, v) -> dl.put(k, v.get()));
        long b = batches.get();
        return new Snapshot((System.nanoTime() - startNs) / 1e9, inputs.get(), outputs.get(), dl, b,
                b == 0 ? 0 : fillSum.sum() / b, commits.get(), aborts.get(),
                percentileMs(window, 0.50), percentileMs(window, 0.95), percentileMs(window, 0.99));
    }

    private static double percentileMs(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int idx = (int) Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1);
        return sorted[Math.max(0, idx)] / 1e6;
    }

    /**
     * Counters at one instant.
     *
     * @param uptimeSeconds since the metrics were created
     * @param inputs        inputs committed (outputs + dead letters)
     * @param outputs       teacher outputs committed
     * @param deadLetters   dead letters committed, per kind
     * @param batches       inference batches
     * @param meanFill      mean batch occupancy in (0, 1]
     * @param commits       committed transactions
     * @param aborts        aborted transactions
     * @param p50Ms         median latency from poll to commit, over the recent window
     * @param p95Ms         95th percentile
     * @param p99Ms         99th percentile
     */
    public record Snapshot(double uptimeSeconds, long inputs, long outputs, Map<FailureKind, Long> deadLetters,
            long batches, double meanFill, long commits, long aborts, double p50Ms, double p95Ms, double p99Ms) {

        public long deadLetterTotal() {
            return deadLetters.values().stream().mapToLong(Long::longValue).sum();
        }

        /** One structured log line; {@code rate} is inputs per second since {@code previous}. */
        public String logLine(Snapshot previous) {
            double dt = previous == null ? uptimeSeconds : uptimeSeconds - previous.uptimeSeconds;
            long dIn = previous == null ? inputs : inputs - previous.inputs;
            return String.format(Locale.ROOT,
                    "records_per_s=%.1f inputs=%d outputs=%d dlq=%d batches=%d batch_fill=%.2f latency_p50_ms=%.1f "
                            + "latency_p95_ms=%.1f latency_p99_ms=%.1f commits=%d aborts=%d",
                    dt > 0 ? dIn / dt : 0, inputs, outputs, deadLetterTotal(), batches, meanFill, p50Ms, p95Ms, p99Ms,
                    commits, aborts);
        }
    }
}
