package io.kdstream.ops.cli;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Objects;

/**
 * A {@link ProgressBar} per training epoch: started at the epoch's first batch, finished at its end. Not thread-safe:
 * one training listener reports to it.
 */
public final class EpochBars {

    private final String labelFormat;
    private final PrintStream out;
    private final ProgressBar.Mode mode;
    private ProgressBar bar;
    private long shown;

    /**
     * @param labelFormat the bar's label, formatted with the epoch and the number of epochs ({@code "epoch %d/%d"})
     */
    public EpochBars(String labelFormat, PrintStream out, ProgressBar.Mode mode) {
        this.labelFormat = Objects.requireNonNull(labelFormat, "labelFormat");
        this.out = Objects.requireNonNull(out, "out");
        this.mode = Objects.requireNonNull(mode, "mode");
    }

    /** Shows {@code done} of the epoch's {@code total} batches, starting the epoch's bar on its first call. */
    public void batch(int epoch, int epochs, long done, long total) {
        if (bar == null) {
            bar = new ProgressBar(String.format(Locale.ROOT, labelFormat, epoch, epochs), total, out, mode);
            shown = 0;
        }
        bar.step(done - shown);
        shown = done;
    }

    /** Finishes the current epoch's bar, if one is showing. */
    public void finish() {
        if (bar != null) {
            bar.finish();
            bar = null;
        }
    }
}
