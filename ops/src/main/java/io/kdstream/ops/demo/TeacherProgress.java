package io.kdstream.ops.demo;

import io.kdstream.ops.cli.EpochBars;
import io.kdstream.teacher.train.TrainingListener;

import java.io.PrintWriter;
import java.util.Locale;

/** A progress bar per teacher epoch and a console line at its end; aborts training when the demo is stopped. */
final class TeacherProgress implements TrainingListener {

    private final DemoContext ctx;
    private final EpochBars bars;

    TeacherProgress(DemoContext ctx) {
        this.ctx = ctx;
        DemoSettings.Progress progress = ctx.settings().progress();
        this.bars = new EpochBars("teacher epoch %d/%d", progress.out(), progress.mode());
    }

    @Override
    public void onBatch(int epoch, int epochs, long done, long total, double meanLoss) {
        if (ctx.stopRequested()) {
            bars.finish();
            throw new DemoRunner.StoppedException();
        }
        bars.batch(epoch, epochs, done, total);
    }

    @Override
    public void onEpoch(int epoch, int epochs, double trainLoss, double trainAccuracy, double testAccuracy,
                        double seconds) {
        bars.finish();
        PrintWriter console = ctx.settings().console();
        console.printf(Locale.ROOT, "      epoch %d/%d: loss %.4f, train accuracy %.2f%%, test accuracy %.2f%%, %.1f s%n",
                epoch, epochs, trainLoss, 100 * trainAccuracy, 100 * testAccuracy, seconds);
        console.flush();
    }
}
