package io.kdstream.ops.report;

import io.kdstream.avro.Alert;
import io.kdstream.avro.AlertSeverity;
import io.kdstream.avro.AlertState;
import io.kdstream.avro.AlertType;
import io.kdstream.avro.EvalResult;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.MonitorEvent;
import io.kdstream.avro.MonitorKind;
import io.kdstream.avro.PartitionRange;
import io.kdstream.avro.RunManifest;
import io.kdstream.avro.RunStatus;
import io.kdstream.avro.TrainingStep;

import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.xml.parsers.DocumentBuilderFactory;

import static org.assertj.core.api.Assertions.assertThat;

class HtmlReportTest {

    private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");
    private static final Pattern SVG = Pattern.compile("<svg .*?</svg>", Pattern.DOTALL);

    @Test
    void shouldDrawOneLossChartPerTrainerWithEveryStep() throws Exception {
        String html = HtmlReport.render(synthetic());

        Map<String, Document> charts = charts(html);
        assertThat(charts).containsKeys("loss-0", "loss-1", "task-loss", "loss-ratio-chart", "accuracy", "dlq");
        Element baseline = seriesNamed(charts.get("loss-0"), "total = task (cross-entropy)");
        Element kd = seriesNamed(charts.get("loss-1"), "total");
        assertThat(baseline.getAttribute("data-points")).isEqualTo("120");
        // one step of the distilling trainer had a NaN loss: counted, not drawn
        assertThat(kd.getAttribute("data-points")).isEqualTo("119");
        assertThat(kd.getAttribute("data-non-finite")).isEqualTo("1");
        assertThat(seriesNamed(charts.get("loss-1"), "KD")).isNotNull();
        assertThat(seriesNames(charts.get("loss-0"))).doesNotContain("KD");
    }

    @Test
    void shouldPlotLossRatioPerMonitorWindowKeepingTheLastEmissionOfAWindow() throws Exception {
        Map<String, Document> charts = charts(HtmlReport.render(synthetic()));

        Element ratio = seriesNamed(charts.get("loss-ratio-chart"), "kd-0 ratio");
        // 6 distinct windows, one of them emitted twice
        assertThat(ratio.getAttribute("data-points")).isEqualTo("6");
        assertThat(ratio.getElementsByTagName("circle").getLength()).isEqualTo(6);
        assertThat(seriesNamed(charts.get("loss-ratio-chart"), "kd-0 moving average").getAttribute("data-points"))
                .isEqualTo("6");
    }

    @Test
    void shouldPlotAccuracyPerTrainerAndTheTeacherAsAGuide() throws Exception {
        Map<String, Document> charts = charts(HtmlReport.render(synthetic()));

        Document acc = charts.get("accuracy");
        assertThat(seriesNamed(acc, "baseline-0").getAttribute("data-points")).isEqualTo("4");
        assertThat(seriesNamed(acc, "kd-0").getAttribute("data-points")).isEqualTo("4");
        assertThat(acc.getElementsByTagName("line").getLength()).isGreaterThan(0);
        assertThat(elementsWithClass(acc, "kd-guide")).hasSize(1);
    }

    @Test
    void shouldCountDeadLettersByComponentAndKind() throws Exception {
        Map<String, Document> charts = charts(HtmlReport.render(synthetic()));

        Map<String, String> bars = new LinkedHashMap<>();
        for (Element bar : elementsWithClass(charts.get("dlq"), "kd-bar")) {
            bars.put(bar.getAttribute("data-category"), bar.getAttribute("data-value"));
        }
        assertThat(bars).containsExactly(Map.entry("teacher-service / DESERIALIZATION", "3"),
                Map.entry("teacher-service / SHAPE", "2"));
    }

    @Test
    void shouldEscapeRecordTextAndFetchNothing() {
        String html = HtmlReport.render(synthetic());

        assertThat(html).doesNotContain("<script").doesNotContain("<b>bad</b>")
                .contains("&lt;b&gt;bad&lt;/b&gt;")
                .doesNotContainPattern("(src|href)\\s*=")
                .doesNotContain("@import");
        // the only URL is the SVG namespace
        assertThat(html.replace("http://www.w3.org/2000/svg", "")).doesNotContain("http://").doesNotContain("https://");
    }

    @Test
    void shouldShowFactsNotesAlertsRunsAndConfig() {
        String html = HtmlReport.render(synthetic());

        assertThat(html).contains("distilled student accuracy").contains("87.10%")
                .contains("only one distilling trainer")
                .contains("FAILURE_THRESHOLD").contains("run-kd").contains("FINISHED")
                .contains("trainer.batch.size").contains(">64<");
    }

    @Test
    void shouldRenderEmptyChartsWhenThePipelinePublishedNothing() throws Exception {
        PipelineData empty = new PipelineData("empty", T0, Map.of(), List.of(), Map.of(), null, List.of(), List.of(),
                List.of(), List.of(), List.of(), List.of());

        String html = HtmlReport.render(empty);

        Map<String, Document> charts = charts(html);
        assertThat(elementsWithClass(charts.get("loss-ratio-chart"), "kd-empty")).hasSize(1);
        assertThat(elementsWithClass(charts.get("accuracy"), "kd-empty")).hasSize(1);
        assertThat(html).contains("no dead letters").contains("No alert was raised.");
    }

    static PipelineData synthetic() {
        List<TrainingStep> steps = new ArrayList<>();
        for (int i = 1; i <= 120; i++) {
            steps.add(step("run-base", "baseline-0", i, 2.3 / Math.sqrt(i), 0));
            double kd = i == 50 ? Double.NaN : 1.5 / Math.sqrt(i);
            steps.add(step("run-kd", "kd-0", i, 2.2 / Math.sqrt(i), kd));
        }
        List<EvalResult> evals = new ArrayList<>();
        for (int k = 1; k <= 4; k++) {
            evals.add(eval("run-base", "baseline-0", 30L * k, 0.70 + 0.03 * k));
            evals.add(eval("run-kd", "kd-0", 30L * k, 0.75 + 0.03 * k));
        }
        List<FailureEvent> failures = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            failures.add(failure(FailureKind.DESERIALIZATION, "not Avro: <b>bad</b>"));
        }
        failures.add(failure(FailureKind.SHAPE, "shape [27, 28]"));
        failures.add(failure(FailureKind.SHAPE, "shape [3]"));
        List<MonitorEvent> monitors = new ArrayList<>();
        for (int w = 0; w < 6; w++) {
            monitors.add(window("run-kd", "kd-0", w, 0.5 + 0.05 * w));
        }
        monitors.add(window("run-kd", "kd-0", 2, 0.61)); // a window emitted again
        Alert alert = Alert.newBuilder().setAlertId("a1").setMonitor(MonitorKind.FAILURE_COUNT)
                .setType(AlertType.FAILURE_THRESHOLD).setState(AlertState.FIRING).setSeverity(AlertSeverity.CRITICAL)
                .setSubject("teacher-service/DESERIALIZATION").setMessage("3 dead letters >= 3").setEventTimeMs(T0)
                .build();
        Map<String, String> facts = new LinkedHashMap<>();
        facts.put("distilled student accuracy", "87.10%");
        Map<String, String> config = new LinkedHashMap<>();
        config.put("trainer.batch.size", "64");
        return new PipelineData("kdstream demo", T0, facts, List.of("only one distilling trainer"), config, 0.91,
                steps, evals, failures, monitors, List.of(alert), List.of(run("run-base", "baseline-0"), run("run-kd", "kd-0")));
    }

    private static TrainingStep step(String run, String trainer, long step, double task, double kd) {
        double total = kd == 0 ? task : 0.3 * task + 0.7 * kd;
        return TrainingStep.newBuilder().setRunId(run).setTrainerId(trainer).setGroup("g-" + trainer).setStep(step)
                .setEpoch(0).setTimestampMs(T0.plusMillis(100 * step)).setTaskLoss(task).setKdLoss(kd)
                .setFeatureLoss(0).setTotalLoss(total).setTemperature(4).setAlpha(0.7).setLearningRate(1e-3)
                .setSamples(64).setFailures(0).setStepLatencyMs(3).build();
    }

    private static EvalResult eval(String run, String trainer, long step, double acc) {
        return EvalResult.newBuilder().setRunId(run).setTrainerId(trainer).setStep(step).setTimestampMs(T0)
                .setDataset("fashion-mnist/test").setSamples(1000).setStudentAccuracy(acc).setTeacherAccuracy(null)
                .setAgreement(null).setLoss(0.5).build();
    }

    private static FailureEvent failure(FailureKind kind, String message) {
        return FailureEvent.newBuilder().setComponent("teacher-service").setKind(kind).setMessage(message)
                .setKey(null).setSource(null).setOriginalValue(null).setTimestampMs(T0).setAttributes(Map.of()).build();
    }

    private static MonitorEvent window(String run, String trainer, int w, double ratio) {
        return MonitorEvent.newBuilder().setMonitor(MonitorKind.LOSS_RATIO).setSubject(run + "/" + trainer)
                .setRunId(run).setTrainerId(trainer).setWindowStartMs(T0.plusSeconds(5L * w))
                .setWindowEndMs(T0.plusSeconds(5L * w + 10)).setRecords(10).setTaskLossSum(10.0)
                .setKdLossSum(10 * ratio).setLossRatio(ratio).setLossRatioEwma(ratio * 0.9).setMeanTotalLoss(1.0)
                .setTotalLossTrend(-0.01).setFirstStep(1L).setLastStep(10L).setConsecutiveBreaches(0).build();
    }

    private static RunManifest run(String id, String trainer) {
        return RunManifest.newBuilder().setRunId(id).setGroup("g").setStatus(RunStatus.FINISHED)
                .setConfig(Map.of("trainer.id", trainer)).setConfigSha256("0".repeat(64)).setCodeVersion("dev")
                .setSeed(42).setStudentArchitecture("fmnist-mlp-student").setTeacherSha256(null)
                .setRanges(List.of(new PartitionRange("kd.teacher-outputs", 0, 0L, 1000L)))
                .setLedgerPath(null).setFinalModelSha256("a".repeat(64)).setStartedAtMs(T0).setEndedAtMs(T0).build();
    }

    /** Every inline SVG of the page, parsed as XML (so each must be well-formed), by element id. */
    static Map<String, Document> charts(String html) throws Exception {
        Map<String, Document> out = new LinkedHashMap<>();
        Matcher m = SVG.matcher(html);
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(false);
        while (m.find()) {
            Document d = f.newDocumentBuilder().parse(new ByteArrayInputStream(m.group().getBytes(StandardCharsets.UTF_8)));
            out.put(d.getDocumentElement().getAttribute("id"), d);
        }
        return out;
    }

    static List<Element> elementsWithClass(Document d, String cssClass) {
        List<Element> out = new ArrayList<>();
        NodeList all = d.getElementsByTagName("*");
        for (int i = 0; i < all.getLength(); i++) {
            Element e = (Element) all.item(i);
            if (List.of(e.getAttribute("class").split(" ")).contains(cssClass)) {
                out.add(e);
            }
        }
        return out;
    }

    static List<String> seriesNames(Document d) {
        return elementsWithClass(d, "kd-series").stream().map(e -> e.getAttribute("data-series")).toList();
    }

    static Element seriesNamed(Document d, String name) {
        return elementsWithClass(d, "kd-series").stream().filter(e -> e.getAttribute("data-series").equals(name))
                .findFirst().orElseThrow(() -> new AssertionError("no series " + name + " in " + seriesNames(d)));
    }
}
