package io.kdstream.it;

import io.kdstream.avro.Alert;
import io.kdstream.avro.AlertSeverity;
import io.kdstream.avro.AlertState;
import io.kdstream.avro.AlertType;
import io.kdstream.avro.EvalResult;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.MonitorEvent;
import io.kdstream.avro.MonitorKind;
import io.kdstream.avro.TrainingStep;
import io.kdstream.ops.report.HtmlReport;
import io.kdstream.ops.report.PipelineData;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.imageio.ImageIO;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Opens a report in headless Chromium (Debian's {@code chromium}) and checks that the charts rendered: the screenshot
 * is not blank and holds the charts' colours, and the browser's DOM has every chart with its data points. Skipped
 * with the reason when {@code /usr/bin/chromium} ({@code -Dkd.it.chromium=...}) is not installed
 * ({@code apt-get install -y chromium}), except in CI ({@code CI=true}), where a missing browser fails the test: CI
 * installs it, so its absence is a broken CI machine, not a choice.
 */
class DemoReportIT {

    /** Debian's {@code /usr/bin/chromium}, or {@code -Dkd.it.chromium=PATH}. */
    static final Path CHROMIUM = Path.of(System.getProperty("kd.it.chromium", "/usr/bin/chromium"));
    private static final Pattern SERIES = Pattern.compile(
            "<g class=\"kd-series\" data-series=\"([^\"]*)\" data-points=\"(\\d+)\"[^>]*><polyline [^>]*points=\"([^\"]*)\"");
    private static final Pattern SVG_ID = Pattern.compile("<svg [^>]*class=\"kd-chart[^\"]*\" id=\"([^\"]+)\"");
    private static final Instant T0 = Instant.parse("2025-06-01T12:00:00Z");

    @TempDir
    static Path dir;
    private static Path report;

    @BeforeAll
    static void writeReport() throws IOException {
        requireChromium("the browser check of the report");
        report = dir.resolve("report.html");
        Files.writeString(report, HtmlReport.render(synthetic()), StandardCharsets.UTF_8);
    }

    /**
     * Skips the calling test when {@link #CHROMIUM} is missing, or fails it when the environment says CI
     * ({@code CI=true}), where {@code .ci/run} installs the browser.
     */
    static void requireChromium(String check) {
        String missing = CHROMIUM + " is not installed (apt-get install -y chromium); " + check;
        if (!Files.isExecutable(CHROMIUM) && "true".equalsIgnoreCase(System.getenv("CI"))) {
            throw new AssertionError(missing + " cannot run, and CI=true: in CI a missing browser is a failure");
        }
        if (!Files.isExecutable(CHROMIUM)) {
            System.out.println("skipped: " + missing + " is skipped");
        }
        assumeTrue(Files.isExecutable(CHROMIUM), missing + " is skipped");
    }

    @Test
    void shouldRenderTheChartsVisiblyInHeadlessChromium() throws Exception {
        Path png = dir.resolve("report.png");

        BufferedImage shot = screenshot(report, png, dir.resolve("profile-1"));

        assertThat(shot.getWidth()).isEqualTo(1200);
        assertThat(nonWhiteFraction(shot)).as("share of non-white pixels").isGreaterThan(0.03);
        // text and frames are grey; only drawn series and bars are coloured
        assertThat(colouredPixels(shot)).as("coloured pixels (series and bars)").isGreaterThan(2_000);
    }

    @Test
    void shouldExposeEveryChartWithItsDataPointsInTheBrowserDom() throws Exception {
        String dom = dumpDom(report, dir.resolve("profile-2"));

        assertChartsWithData(dom, List.of("loss-0", "loss-1", "task-loss", "loss-ratio-chart", "accuracy", "dlq"));
        assertThat(dom).contains("data-category=\"teacher-service / SHAPE\"");
    }

    /** Checks the DOM has the named charts and that every series in it has points. */
    static void assertChartsWithData(String dom, List<String> chartIds) {
        List<String> ids = new ArrayList<>();
        Matcher svg = SVG_ID.matcher(dom);
        while (svg.find()) {
            ids.add(svg.group(1));
        }
        assertThat(ids).containsAll(chartIds);
        Matcher m = SERIES.matcher(dom);
        int series = 0;
        while (m.find()) {
            series++;
            int declared = Integer.parseInt(m.group(2));
            int drawn = m.group(3).trim().split("\\s+").length;
            assertThat(declared).as("points of series %s", m.group(1)).isPositive();
            assertThat(drawn).as("drawn points of series %s", m.group(1)).isBetween(1, declared);
        }
        assertThat(series).as("series with data").isGreaterThanOrEqualTo(chartIds.size());
    }

    /** Screenshot of {@code html} at 1200x2000 by headless Chromium, decoded. */
    static BufferedImage screenshot(Path html, Path png, Path profile) throws Exception {
        run(List.of(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile, "--screenshot=" + png, "--window-size=1200,2000",
                html.toUri().toString()), profile.resolveSibling(profile.getFileName() + ".log"));
        assertThat(png).exists();
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image).as("decoded screenshot").isNotNull();
        return image;
    }

    /** The DOM as Chromium parsed and rendered it. */
    static String dumpDom(Path html, Path profile) throws Exception {
        Path out = profile.resolveSibling(profile.getFileName() + ".dom.html");
        ProcessBuilder pb = new ProcessBuilder(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--user-data-dir=" + profile, "--dump-dom", html.toUri().toString())
                .redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chromium --dump-dom did not finish within 120 s");
        }
        assertThat(p.exitValue()).as("chromium exit code").isZero();
        return Files.readString(out, StandardCharsets.UTF_8);
    }

    private static void run(List<String> command, Path log) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chromium did not finish within 120 s: " + Files.readString(log));
        }
        assertThat(p.exitValue()).as("chromium exit code; log: %s", Files.readString(log)).isZero();
    }

    static double nonWhiteFraction(BufferedImage image) {
        long nonWhite = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y);
                int r = (rgb >> 16) & 0xFF;
                int g = (rgb >> 8) & 0xFF;
                int b = rgb & 0xFF;
                if (r < 235 || g < 235 || b < 235) {
                    nonWhite++;
                }
            }
        }
        return nonWhite / (double) ((long) image.getWidth() * image.getHeight());
    }

    static long colouredPixels(BufferedImage image) {
        long coloured = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y);
                int r = (rgb >> 16) & 0xFF;
                int g = (rgb >> 8) & 0xFF;
                int b = rgb & 0xFF;
                if (Math.max(r, Math.max(g, b)) - Math.min(r, Math.min(g, b)) > 60) {
                    coloured++;
                }
            }
        }
        return coloured;
    }

    /** Two trainers over 200 steps, evaluations, dead letters of two kinds, loss-ratio windows and an alert. */
    static PipelineData synthetic() {
        List<TrainingStep> steps = new ArrayList<>();
        List<EvalResult> evals = new ArrayList<>();
        for (int i = 1; i <= 200; i++) {
            double task = 2.3 / Math.sqrt(i) + 0.05 * Math.sin(i);
            steps.add(step("run-b", "baseline-0", i, task, 0, task));
            double kd = 1.6 / Math.sqrt(i);
            steps.add(step("run-k", "kd-0", i, task * 0.95, kd, 0.3 * task * 0.95 + 0.7 * kd));
            if (i % 25 == 0) {
                evals.add(eval("run-b", "baseline-0", i, 0.70 + 0.0006 * i));
                evals.add(eval("run-k", "kd-0", i, 0.72 + 0.0007 * i));
            }
        }
        List<FailureEvent> failures = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            failures.add(failure(FailureKind.DESERIALIZATION));
            failures.add(failure(FailureKind.SHAPE));
        }
        List<MonitorEvent> windows = new ArrayList<>();
        for (int w = 0; w < 12; w++) {
            double ratio = 1.8 - 0.1 * w;
            windows.add(MonitorEvent.newBuilder().setMonitor(MonitorKind.LOSS_RATIO).setSubject("run-k/kd-0")
                    .setRunId("run-k").setTrainerId("kd-0").setWindowStartMs(T0.plusSeconds(5L * w))
                    .setWindowEndMs(T0.plusSeconds(5L * w + 10)).setRecords(20).setTaskLossSum(10.0)
                    .setKdLossSum(10 * ratio).setLossRatio(ratio).setLossRatioEwma(ratio + 0.05).setMeanTotalLoss(1.0)
                    .setTotalLossTrend(-0.01).setFirstStep(1L).setLastStep(20L).setConsecutiveBreaches(0).build());
        }
        Alert alert = Alert.newBuilder().setAlertId("a").setMonitor(MonitorKind.LOSS_RATIO)
                .setType(AlertType.LOSS_RATIO_BELOW_BAND).setState(AlertState.FIRING).setSeverity(AlertSeverity.WARNING)
                .setSubject("run-b/baseline-0").setRunId("run-b").setTrainerId("baseline-0")
                .setMessage("ratio 0.0 below 0.01").setEventTimeMs(T0).build();
        Map<String, String> facts = new LinkedHashMap<>();
        facts.put("teacher accuracy", "90.00%");
        return new PipelineData("report check", T0, facts, List.of("synthetic data"), Map.of("kd.alpha", "0.7"), 0.9,
                steps, evals, failures, windows, List.of(alert), List.of());
    }

    private static TrainingStep step(String run, String trainer, long step, double task, double kd, double total) {
        return TrainingStep.newBuilder().setRunId(run).setTrainerId(trainer).setGroup("g").setStep(step).setEpoch(0)
                .setTimestampMs(T0.plusMillis(50 * step)).setTaskLoss(task).setKdLoss(kd).setFeatureLoss(0)
                .setTotalLoss(total).setTemperature(4).setAlpha(kd == 0 ? 0 : 0.7).setLearningRate(1e-3).setSamples(64)
                .setFailures(0).setStepLatencyMs(2).build();
    }

    private static EvalResult eval(String run, String trainer, long step, double accuracy) {
        return EvalResult.newBuilder().setRunId(run).setTrainerId(trainer).setStep(step).setTimestampMs(T0)
                .setDataset("fashion-mnist/test").setSamples(2000).setStudentAccuracy(accuracy).setTeacherAccuracy(null)
                .setAgreement(null).setLoss(0.4).build();
    }

    private static FailureEvent failure(FailureKind kind) {
        return FailureEvent.newBuilder().setComponent("teacher-service").setKind(kind).setMessage("bad " + kind)
                .setKey(null).setSource(null).setOriginalValue(null).setTimestampMs(T0).setAttributes(Map.of()).build();
    }
}
