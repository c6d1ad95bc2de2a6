package io.kdstream.streams;

import java.time.Duration;
import java.util.Objects;

/**
 * Windows, bands and thresholds of the monitors. Build with {@link #builder()}; every value has a default.
 *
 * @param lossWindowSize          size of the hopping loss-ratio windows
 * @param lossWindowAdvance       advance of the loss-ratio windows (at most the size)
 * @param lossWindowGrace         grace period of the loss-ratio windows
 * @param bandLow                 lower bound of the healthy sum(KD) / sum(task) band
 * @param bandHigh                upper bound of the band
 * @param consecutiveWindows      closed windows (M) outside the band, on the same side, before an alert
 * @param ewmaAlpha               weight of the newest window in the ratio's moving average, in (0, 1]
 * @param failureWindow           size of the tumbling failure-count windows
 * @param failureGrace            grace period of the failure-count windows
 * @param failureThreshold        failures of one component and kind in one window that raise an alert
 * @param stalenessThreshold      silence (wall clock) after which a trainer is reported stale
 * @param stalenessCheckInterval  how often the staleness check runs (wall clock)
 * @param closeWindowsWhenIdle    whether windows also close in quiet periods: while no record arrives, the close
 *                                time runs on with the wall clock
 * @param windowCheckInterval     how often (wall clock) open windows are checked for quiet-period and run-end closes
 */
public record Thresholds(Duration lossWindowSize, Duration lossWindowAdvance, Duration lossWindowGrace,
                         double bandLow, double bandHigh, int consecutiveWindows, double ewmaAlpha,
                         Duration failureWindow, Duration failureGrace, long failureThreshold,
                         Duration stalenessThreshold, Duration stalenessCheckInterval, boolean closeWindowsWhenIdle,
                         Duration windowCheckInterval) {

    public static final Duration DEFAULT_LOSS_WINDOW_SIZE = Duration.ofMinutes(1);
    public static final Duration DEFAULT_LOSS_WINDOW_ADVANCE = Duration.ofSeconds(15);
    public static final Duration DEFAULT_LOSS_WINDOW_GRACE = Duration.ofSeconds(10);
    public static final double DEFAULT_BAND_LOW = 0.01;
    public static final double DEFAULT_BAND_HIGH = 10.0;
    public static final int DEFAULT_CONSECUTIVE_WINDOWS = 3;
    public static final double DEFAULT_EWMA_ALPHA = 0.3;
    public static final Duration DEFAULT_FAILURE_WINDOW = Duration.ofMinutes(1);
    public static final Duration DEFAULT_FAILURE_GRACE = Duration.ofSeconds(10);
    /** Mirrors the pipeline's "escalate after 10 failures". */
    public static final long DEFAULT_FAILURE_THRESHOLD = 10;
    public static final Duration DEFAULT_STALENESS_THRESHOLD = Duration.ofMinutes(2);
    public static final Duration DEFAULT_STALENESS_CHECK_INTERVAL = Duration.ofSeconds(10);
    public static final boolean DEFAULT_CLOSE_WINDOWS_WHEN_IDLE = true;
    public static final Duration DEFAULT_WINDOW_CHECK_INTERVAL = Duration.ofSeconds(5);

    public Thresholds {
        requirePositive(lossWindowSize, "lossWindowSize");
        requirePositive(lossWindowAdvance, "lossWindowAdvance");
        requireNotNegative(lossWindowGrace, "lossWindowGrace");
        if (lossWindowAdvance.compareTo(lossWindowSize) > 0) {
            throw new IllegalArgumentException("lossWindowAdvance " + lossWindowAdvance + " exceeds lossWindowSize "
                    + lossWindowSize);
        }
        if (!(bandLow >= 0.0) || !(bandHigh > bandLow) || Double.isInfinite(bandHigh)) {
            throw new IllegalArgumentException("need 0 <= bandLow < bandHigh < infinity, got [" + bandLow + ", "
                    + bandHigh + "]");
        }
        if (consecutiveWindows < 1) {
            throw new IllegalArgumentException("consecutiveWindows must be at least 1, got " + consecutiveWindows);
        }
        if (!(ewmaAlpha > 0.0 && ewmaAlpha <= 1.0)) {
            throw new IllegalArgumentException("ewmaAlpha must be in (0, 1], got " + ewmaAlpha);
        }
        requirePositive(failureWindow, "failureWindow");
        requireNotNegative(failureGrace, "failureGrace");
        if (failureThreshold < 1) {
            throw new IllegalArgumentException("failureThreshold must be at least 1, got " + failureThreshold);
        }
        requirePositive(stalenessThreshold, "stalenessThreshold");
        requirePositive(stalenessCheckInterval, "stalenessCheckInterval");
        requirePositive(windowCheckInterval, "windowCheckInterval");
    }

    /** The defaults. */
    public static Thresholds defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    private static void requirePositive(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero() || d.toMillis() < 1) {
            throw new IllegalArgumentException(name + " must be at least 1 ms, got " + d);
        }
    }

    private static void requireNotNegative(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isNegative()) {
            throw new IllegalArgumentException(name + " must not be negative, got " + d);
        }
    }

    /** Builder of {@link Thresholds}; every value is optional. */
    public static final class Builder {
        private Duration lossWindowSize = DEFAULT_LOSS_WINDOW_SIZE;
        private Duration lossWindowAdvance = DEFAULT_LOSS_WINDOW_ADVANCE;
        private Duration lossWindowGrace = DEFAULT_LOSS_WINDOW_GRACE;
        private double bandLow = DEFAULT_BAND_LOW;
        private double bandHigh = DEFAULT_BAND_HIGH;
        private int consecutiveWindows = DEFAULT_CONSECUTIVE_WINDOWS;
        private double ewmaAlpha = DEFAULT_EWMA_ALPHA;
        private Duration failureWindow = DEFAULT_FAILURE_WINDOW;
        private Duration failureGrace = DEFAULT_FAILURE_GRACE;
        private long failureThreshold = DEFAULT_FAILURE_THRESHOLD;
        private Duration stalenessThreshold = DEFAULT_STALENESS_THRESHOLD;
        private Duration stalenessCheckInterval = DEFAULT_STALENESS_CHECK_INTERVAL;
        private boolean closeWindowsWhenIdle = DEFAULT_CLOSE_WINDOWS_WHEN_IDLE;
        private Duration windowCheckInterval = DEFAULT_WINDOW_CHECK_INTERVAL;

        private Builder() {
        }

        public Builder optLossWindowSize(Duration size) {
            this.lossWindowSize = size;
            return this;
        }

        public Builder optLossWindowAdvance(Duration advance) {
            this.lossWindowAdvance = advance;
            return this;
        }

        public Builder optLossWindowGrace(Duration grace) {
            this.lossWindowGrace = grace;
            return this;
        }

        public Builder optBand(double low, double high) {
            this.bandLow = low;
            this.bandHigh = high;
            return this;
        }

        public Builder optConsecutiveWindows(int windows) {
            this.consecutiveWindows = windows;
            return this;
        }

        public Builder optEwmaAlpha(double alpha) {
            this.ewmaAlpha = alpha;
            return this;
        }

        public Builder optFailureWindow(Duration window) {
            this.failureWindow = window;
            return this;
        }

        public Builder optFailureGrace(Duration grace) {
            this.failureGrace = grace;
            return this;
        }

        public Builder optFailureThreshold(long threshold) {
            this.failureThreshold = threshold;
            return this;
        }

        public Builder optStalenessThreshold(Duration threshold) {
            this.stalenessThreshold = threshold;
            return this;
        }

        public Builder optStalenessCheckInterval(Duration interval) {
            this.stalenessCheckInterval = interval;
            return this;
        }

        public Builder optCloseWindowsWhenIdle(boolean close) {
            this.closeWindowsWhenIdle = close;
            return this;
        }

        public Builder optWindowCheckInterval(Duration interval) {
            this.windowCheckInterval = interval;
            return this;
        }

        /** Validates and builds. */
        public Thresholds build() {
            return new Thresholds(lossWindowSize, lossWindowAdvance, lossWindowGrace, bandLow, bandHigh,
                    consecutiveWindows, ewmaAlpha, failureWindow, failureGrace, failureThreshold, stalenessThreshold,
                    stalenessCheckInterval, closeWindowsWhenIdle, windowCheckInterval);
        }
    }
}
