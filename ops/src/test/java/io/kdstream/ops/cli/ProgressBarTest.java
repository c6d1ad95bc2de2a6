package io.kdstream.ops.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class ProgressBarTest {

    @Test
    void shouldDrawAFilledBarWithPercentCountsRateAndEta() {
        String line = ProgressBar.barLine("fashion-mnist/train", 30_000, 60_000, 2.0, 20);

        assertThat(line).isEqualTo("fashion-mnist/train [##########>         ]  50.0%  30,000/60,000  15,000/s  ETA 0:02");
    }

    @Test
    void shouldShowElapsedTimeInsteadOfEtaWhenDone() {
        String line = ProgressBar.barLine("x", 10, 10, 75.0, 4);

        assertThat(line).isEqualTo("x [####] 100.0%  10/10  0/s  1:15");
    }

    @Test
    void shouldNotDivideByZeroAtTheStart() {
        assertThat(ProgressBar.barLine("x", 0, 100, 0.0, 4)).isEqualTo("x [>   ]   0.0%  0/100  0/s  ETA --:--");
        assertThat(ProgressBar.barLine("empty", 0, 0, 0.0, 4)).contains("100.0%");
    }

    @Test
    void shouldFormatPlainLinesForNonTerminals() {
        assertThat(ProgressBar.plainLine("fashion-mnist/test", 2_500, 10_000, 0.5))
                .isEqualTo("fashion-mnist/test: 2,500/10,000 (25.0%), 5,000/s, 0.5 s");
    }

    @Test
    void shouldFormatDurationsWithHoursOnlyWhenNeeded() {
        assertThat(ProgressBar.formatDuration(59.4)).isEqualTo("0:59");
        assertThat(ProgressBar.formatDuration(3_725)).isEqualTo("1:02:05");
        assertThat(ProgressBar.formatDuration(-3)).isEqualTo("0:00");
    }

    @Test
    void shouldPrintPlainLinesOnlyEveryFewSecondsAndAFinalOne() {
        AtomicLong clock = new AtomicLong();
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(sink, true, StandardCharsets.UTF_8);
        ProgressBar bar = new ProgressBar("load", 100, out, ProgressBar.Mode.PLAIN, clock::get);

        bar.step(10);               // t = 0: too early
        clock.set(6_000_000_000L);
        bar.step(40);               // t = 6 s: a line
        clock.set(7_000_000_000L);
        bar.step(50);               // t = 7 s: too soon after the last
        bar.finish();
        bar.finish();               // idempotent

        String[] lines = sink.toString(StandardCharsets.UTF_8).split("\n");
        assertThat(lines).containsExactly(
                "load: 50/100 (50.0%), 8/s, 6.0 s",
                "load: 100/100 (100.0%), 14/s, 7.0 s");
    }

    @Test
    void shouldRedrawTheBarInPlaceAndEndTheLineOnFinish() {
        AtomicLong clock = new AtomicLong();
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(sink, true, StandardCharsets.UTF_8);
        ProgressBar bar = new ProgressBar("x", 4, out, ProgressBar.Mode.BAR, clock::get);

        clock.set(200_000_000L);
        bar.step(2);
        clock.set(400_000_000L);
        bar.step(2);
        bar.finish();

        String text = sink.toString(StandardCharsets.UTF_8);
        assertThat(text).startsWith("\rx [###############>              ]  50.0%  2/4");
        assertThat(text).contains("\rx [##############################] 100.0%  4/4");
        assertThat(text).endsWith("\n");
        assertThat(bar.done()).isEqualTo(4);
    }

    @Test
    void shouldPrintNothingInNoneMode() {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        try (ProgressBar bar = new ProgressBar("x", 10, new PrintStream(sink, true, StandardCharsets.UTF_8),
                ProgressBar.Mode.NONE)) {
            bar.step(10);
        }
        assertThat(sink.size()).isZero();
    }
}
