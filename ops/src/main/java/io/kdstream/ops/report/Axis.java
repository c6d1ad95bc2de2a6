package io.kdstream.ops.report;

import java.util.ArrayList;
import java.util.List;

/**
 * A linear axis over a data range, widened to "nice" tick steps (1, 2 or 5 times a power of ten).
 *
 * @param min   lower end, a multiple of {@code step}
 * @param max   upper end, a multiple of {@code step}, greater than {@code min}
 * @param step  distance between ticks
 */
record Axis(double min, double max, double step) {

    Axis {
        if (!(max > min) || !(step > 0) || !Double.isFinite(min) || !Double.isFinite(max)) {
            throw new IllegalArgumentException("invalid axis [" + min + ", " + max + "] step " + step);
        }
    }

    /** An axis covering {@code [lo, hi]} with about {@code targetTicks} ticks. */
    static Axis covering(double lo, double hi, int targetTicks) {
        if (!Double.isFinite(lo) || !Double.isFinite(hi)) {
            throw new IllegalArgumentException("range must be finite: [" + lo + ", " + hi + "]");
        }
        if (hi < lo) {
            double t = lo;
            lo = hi;
            hi = t;
        }
        if (hi == lo) {
            double pad = lo == 0 ? 1 : Math.abs(lo) * 0.1;
            lo -= pad;
            hi += pad;
        }
        double step = niceStep((hi - lo) / Math.max(1, targetTicks));
        double min = Math.floor(lo / step) * step;
        double max = Math.ceil(hi / step) * step;
        if (max <= min) {
            max = min + step;
        }
        return new Axis(min, max, step);
    }

    static double niceStep(double raw) {
        double exp = Math.pow(10, Math.floor(Math.log10(raw)));
        double f = raw / exp;
        double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
        return nice * exp;
    }

    List<Double> ticks() {
        List<Double> out = new ArrayList<>();
        long n = Math.round((max - min) / step);
        for (long i = 0; i <= n; i++) {
            out.add(min + i * step);
        }
        return out;
    }

    /** Maps {@code v} to the pixel range {@code [from, to]}. */
    double scale(double v, double from, double to) {
        return from + (v - min) / (max - min) * (to - from);
    }
}
