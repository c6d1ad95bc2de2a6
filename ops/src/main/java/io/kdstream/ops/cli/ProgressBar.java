package io.kdstream.ops.cli;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Progress of a long-running command on stderr. On a terminal it redraws one line in place (a bar, the percentage,
 * counts, the rate and the time left); otherwise (a pipe, a log file, a CI job) it prints a plain line every few
 * seconds, so logs stay readable. Not thread-safe: one thread reports progress.
 */
public final class ProgressBar implements AutoCloseable {

    /** How progress is shown. */
    public enum Mode {
        /** A bar redrawn in place; for terminals. */
        BAR,
        /** A plain line every few seconds; for pipes and logs. */
        PLAIN,
        /** Nothing. */
        NONE;

        /** {@link #BAR} when stderr looks like a terminal, else {@link #PLAIN}. */
        public static Mode auto() {
            String term = System.getenv("TERM");
            boolean terminal = System.console() != null && term != null && !term.isBlank() && !"dumb".equals(term);
            return terminal ? BAR : PLAIN;
        }
    }

    static final int BAR_WIDTH = 30;
    private static final long BAR_REDRAW_NANOS = 100_000_000L;
    private static final long PLAIN_INTERVAL_NANOS = 5_000_000_000L;

    private final String label;
    private final long total;
    private final PrintStream out;
    private final Mode mode;
    private final LongSupplier nanoClock;
    private final long startNanos;
    private long done;
    private long lastPrintNanos;
    private int lastLineLength;
    private boolean finished;

    public ProgressBar(String label, long total, PrintStream out, Mode mode) {
        this(label, total, out, mode, System::nanoTime);
    }

    ProgressBar(String label, long total, PrintStream out, Mode mode, LongSupplier nanoClock) {
        if (total < 0) {
            throw new IllegalArgumentException("total must be >= 0, was " + total);
        }
        this.label = Objects.requireNonNull(label, "label");
        this.total = total;
        this.out = Objects.requireNonNull(out, "out");
        this.mode = Objects.requireNonNull(mode, "mode");
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
        this.startNanos = nanoClock.getAsLong();
        this.lastPrintNanos = startNanos;
    }

    /** Adds {@code n} completed items and redraws when it is time to. */
    public void step(long n) {
        done += n;
        long now = nanoClock.getAsLong();
        switch (mode) {
            case BAR -> {
                if (now - lastPrintNanos >= BAR_REDRAW_NANOS || done >= total) {
                    drawBar(now);
                }
            }
            case PLAIN -> {
                if (now - lastPrintNanos >= PLAIN_INTERVAL_NANOS) {
                    out.println(plainLine(label, done, total, seconds(now - startNanos)));
                    out.flush();
                    lastPrintNanos = now;
                }
            }
            case NONE -> {
                // nothing to show
            }
        }
    }

    public long done() {
        return done;
    }

    /** Seconds since the bar was created. */
    public double elapsedSeconds() {
        return seconds(nanoClock.getAsLong() - startNanos);
    }

    /** Draws the final state and ends the line. Idempotent. */
    public void finish() {
        if (finished) {
            return;
        }
        finished = true;
        long now = nanoClock.getAsLong();
        if (mode == Mode.BAR) {
            drawBar(now);
            out.println();
            out.flush();
        } else if (mode == Mode.PLAIN && done > 0) {
            out.println(plainLine(label, done, total, seconds(now - startNanos)));
            out.flush();
        }
    }

    @Override
    public void close() {
        finish();
    }

    private void drawBar(long now) {
        String line = barLine(label, done, total, seconds(now - startNanos), BAR_WIDTH);
        StringBuilder sb = new StringBuilder(line.length() + 8).append('\r').append(line);
        for (int i = line.length(); i < lastLineLength; i++) {
            sb.append(' ');
        }
        lastLineLength = line.length();
        out.print(sb);
        out.flush();
        lastPrintNanos = now;
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    /**
     * One line of the in-place bar, e.g.
     * {@code train [##########>                   ]  35.0%  24,500/70,000  12,250/s  ETA 0:04}.
     */
    static String barLine(String label, long done, long total, double elapsedSeconds, int width) {
        double fraction = total == 0 ? 1.0 : Math.min(1.0, (double) done / total);
        int filled = (int) Math.floor(fraction * width);
        StringBuilder bar = new StringBuilder(width + 2).append('[');
        for (int i = 0; i < width; i++) {
            if (i < filled) {
                bar.append('#');
            } else if (i == filled && filled < width) {
                bar.append('>');
            } else {
                bar.append(' ');
            }
        }
        bar.append(']');
        double rate = rate(done, elapsedSeconds);
        String eta = done >= total ? formatDuration(elapsedSeconds)
                : rate > 0 ? "ETA " + formatDuration((total - done) / rate) : "ETA --:--";
        return String.format(Locale.ROOT, "%s %s %5.1f%%  %,d/%,d  %,.0f/s  %s",
                label, bar, fraction * 100, done, total, rate, eta);
    }

    /** One periodic line for non-terminals, e.g. {@code train: 24,500/70,000 (35.0%), 12,250/s, 2.0 s}. */
    static String plainLine(String label, long done, long total, double elapsedSeconds) {
        double pct = total == 0 ? 100.0 : 100.0 * done / total;
        return String.format(Locale.ROOT, "%s: %,d/%,d (%.1f%%), %,.0f/s, %.1f s",
                label, done, total, pct, rate(done, elapsedSeconds), elapsedSeconds);
    }

    static double rate(long done, double elapsedSeconds) {
        return elapsedSeconds <= 0 ? 0.0 : done / elapsedSeconds;
    }

    /** {@code m:ss}, or {@code h:mm:ss} from one hour. */
    static String formatDuration(double seconds) {
        long s = Math.max(0, Math.round(seconds));
        long h = s / 3600;
        long m = (s % 3600) / 60;
        long sec = s % 60;
        return h > 0 ? String.format(Locale.ROOT, "%d:%02d:%02d", h, m, sec) : String.format(Locale.ROOT, "%d:%02d", m, sec);
    }
}
