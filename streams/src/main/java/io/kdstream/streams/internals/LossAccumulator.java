package io.kdstream.streams.internals;

import io.kdstream.avro.TrainingStep;

import java.nio.ByteBuffer;

/**
 * The aggregate of one loss-ratio window: sums of the finite losses and the least-squares sums of total loss against
 * step. Steps with any NaN or infinite loss are counted in {@code nonFinite} and left out of every sum. Step numbers
 * enter the regression relative to {@code refStep} (the first step seen) to keep the sums small.
 *
 * @param records    every step that fell into the window
 * @param nonFinite  steps with a non-finite loss
 * @param finite     steps whose losses are all finite
 * @param sumTask    sum of finite task losses of the steps with a task term (see {@link #hasTaskTerm})
 * @param sumKd      sum of finite KD losses of the same steps, so that their ratio compares like with like
 * @param sumFeature sum of finite feature losses
 * @param sumTotal   sum of finite total losses
 * @param refStep    step number the regression is relative to
 * @param sumX       sum of (step - refStep) over finite steps
 * @param sumXX      sum of (step - refStep) squared
 * @param sumXY      sum of (step - refStep) * total loss
 * @param minStep    smallest step seen (Long.MAX_VALUE when empty)
 * @param maxStep    largest step seen (Long.MIN_VALUE when empty)
 * @param distilling finite steps that distil (alpha above 0 or a non-zero KD loss); a window without any, such as a
 *                   labels-only baseline's, has no loss ratio, so it neither breaches nor resolves the band
 */
public record LossAccumulator(long records, long nonFinite, long finite, double sumTask, double sumKd,
                              double sumFeature, double sumTotal, long refStep, double sumX, double sumXX,
                              double sumXY, long minStep, long maxStep, long distilling) {

    private static final byte VERSION_1 = 1;
    private static final int SIZE_1 = 1 + 8 * 13;
    private static final byte VERSION = 2;
    private static final int SIZE = 1 + 8 * 14;

    /** The aggregate of no steps. */
    public static LossAccumulator empty() {
        return new LossAccumulator(0, 0, 0, 0.0, 0.0, 0.0, 0.0, 0, 0.0, 0.0, 0.0, Long.MAX_VALUE, Long.MIN_VALUE, 0);
    }

    /** Whether the step distils: a positive alpha or a non-zero KD loss (a labels-only step has neither). */
    public static boolean isDistilling(TrainingStep step) {
        return step.getAlpha() > 0.0 || step.getKdLoss() != 0.0;
    }

    /**
     * Whether the step has a task term: some example of its batch carried a label ({@code labelledSamples} absent, from
     * writers that predate it, means every one did).
     */
    public static boolean hasTaskTerm(TrainingStep step) {
        Integer labelled = step.getLabelledSamples();
        return labelled == null || labelled > 0;
    }

    /** Whether every loss of the step is finite. */
    public static boolean isFinite(TrainingStep step) {
        return Double.isFinite(step.getTaskLoss()) && Double.isFinite(step.getKdLoss())
                && Double.isFinite(step.getFeatureLoss()) && Double.isFinite(step.getTotalLoss());
    }

    /** This aggregate with one more step. */
    public LossAccumulator add(TrainingStep step) {
        long s = step.getStep();
        long min = Math.min(minStep, s);
        long max = Math.max(maxStep, s);
        if (!isFinite(step)) {
            return new LossAccumulator(records + 1, nonFinite + 1, finite, sumTask, sumKd, sumFeature, sumTotal,
                    refStep, sumX, sumXX, sumXY, min, max, distilling);
        }
        long ref = finite == 0 ? s : refStep;
        double x = (double) (s - ref);
        double y = step.getTotalLoss();
        // a step without a task term (no labelled example in its batch) has no KD/task ratio: it stays out of both sums
        boolean taskTerm = hasTaskTerm(step);
        return new LossAccumulator(records + 1, nonFinite, finite + 1, sumTask + (taskTerm ? step.getTaskLoss() : 0.0),
                sumKd + (taskTerm ? step.getKdLoss() : 0.0), sumFeature + step.getFeatureLoss(), sumTotal + y, ref, sumX + x,
                sumXX + x * x, sumXY + x * y, min, max, distilling + (isDistilling(step) ? 1 : 0));
    }

    /** sum(KD) / sum(task), or null without finite distilling steps or with a zero task-loss sum. */
    public Double ratio() {
        if (finite == 0 || distilling == 0 || sumTask == 0.0) {
            return null;
        }
        double r = sumKd / sumTask;
        return Double.isFinite(r) ? r : null;
    }

    /** Mean finite total loss, or null without finite steps. */
    public Double meanTotalLoss() {
        return finite == 0 ? null : sumTotal / finite;
    }

    /** Least-squares slope of total loss against step, or null with fewer than two distinct steps. */
    public Double totalLossTrend() {
        if (finite < 2) {
            return null;
        }
        double n = finite;
        double denominator = n * sumXX - sumX * sumX;
        if (denominator == 0.0) {
            return null;
        }
        double slope = (n * sumXY - sumX * sumTotal) / denominator;
        return Double.isFinite(slope) ? slope : null;
    }

    /** Smallest step, or null when empty. */
    public Long firstStep() {
        return records == 0 ? null : minStep;
    }

    /** Largest step, or null when empty. */
    public Long lastStep() {
        return records == 0 ? null : maxStep;
    }

    /** Fixed-layout binary form for state stores and changelogs. */
    public byte[] toBytes() {
        return ByteBuffer.allocate(SIZE).put(VERSION).putLong(records).putLong(nonFinite).putLong(finite)
                .putDouble(sumTask).putDouble(sumKd).putDouble(sumFeature).putDouble(sumTotal).putLong(refStep)
                .putDouble(sumX).putDouble(sumXX).putDouble(sumXY).putLong(minStep).putLong(maxStep).putLong(distilling).array();
    }

    /** Reads {@link #toBytes()}; a version-1 value (no distilling count) counts every finite step as distilling. */
    public static LossAccumulator fromBytes(byte[] bytes) {
        boolean v1 = bytes != null && bytes.length == SIZE_1 && bytes[0] == VERSION_1;
        ByteBuffer b = v1 ? StateBytes.check(bytes, SIZE_1, VERSION_1, "LossAccumulator")
                : StateBytes.check(bytes, SIZE, VERSION, "LossAccumulator");
        long records = b.getLong();
        long nonFinite = b.getLong();
        long finite = b.getLong();
        return new LossAccumulator(records, nonFinite, finite, b.getDouble(), b.getDouble(),
                b.getDouble(), b.getDouble(), b.getLong(), b.getDouble(), b.getDouble(), b.getDouble(), b.getLong(),
                b.getLong(), v1 ? finite : b.getLong());
    }
}
