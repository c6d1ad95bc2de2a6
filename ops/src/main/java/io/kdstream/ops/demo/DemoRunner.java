package io.kdstream.ops.demo;

import io.kdstream.core.KdException;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.kafka.Topics;
import io.kdstream.core.model.ModelStore;
import io.kdstream.core.model.SavedModel;
import io.kdstream.ops.cli.ProgressBar;
import io.kdstream.ops.observe.HealthCheck;
import io.kdstream.ops.observe.Observability;
import io.kdstream.streams.MonitorApp;
import io.kdstream.streams.MonitorConfig;
import io.kdstream.teacher.serve.TeacherService;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The whole job in one process: starts the local stack, creates the topics, publishes Fashion-MNIST, trains (or
 * reuses) the teacher, serves it until every input has a teacher output or a dead letter, trains a distilling student
 * and a labels-only baseline side by side on the same teacher-outputs topic (two consumer groups: fan-out) while the
 * monitors watch, then reads every result topic back and writes the HTML report.
 *
 * <p>Each phase is a class of its own ({@link DemoPhase} lists them: {@code StackPhase}, {@code TopicsPhase},
 * {@code IngestPhase}, {@code TeacherPhase}, {@code ServePhase}, {@code StudentsPhase}, {@code ReadBackPhase},
 * {@code ReportPhase}) that takes the outputs of the earlier ones; this class runs them in order, prints the phase
 * lines, and assembles the {@link DemoResult}. What the phases share (settings, the stop flag, the resources they
 * opened) is a {@code DemoContext}.
 *
 * <p>{@link #stop()} (from a shutdown hook) makes {@link #run()} stop at the next check; {@link #close()} stops what
 * is running in the reverse order it was started. Progress goes to the progress stream, phase lines to the console.
 */
public final class DemoRunner implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(DemoRunner.class);
    /** File that marks a directory as a demo data directory, which a later demo may wipe. */
    public static final String MARKER_FILE = ".kdstream-demo";

    private final DemoPlan plan;
    private final Path dataDir;
    private final Path reportFile;
    private final Path dataset;
    private final PrintWriter console;
    private final DemoContext ctx;
    private final Map<String, Double> phaseSeconds = new LinkedHashMap<>();
    private volatile Map<String, Object> connection = Map.of();
    private long phaseStart;

    /** Thrown out of {@link #run()} when {@link #stop()} was called. */
    public static final class StoppedException extends KdException {
        private static final long serialVersionUID = 1L;

        StoppedException() {
            super("the demo was stopped");
        }
    }

    private DemoRunner(Builder b) {
        this.plan = b.plan;
        this.dataDir = b.dataDir.toAbsolutePath().normalize();
        this.reportFile = b.reportFile.toAbsolutePath().normalize();
        this.dataset = b.dataset;
        this.console = b.console;
        this.ctx = new DemoContext(new DemoSettings(plan, dataDir, b.store != null ? b.store : ModelStore.openDefault(),
                dataset, console, new DemoSettings.Progress(b.progressOut, b.progressMode), b.observability));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Asks {@link #run()} to stop as soon as it can (stops the trainers after their current step). Thread-safe. */
    public void stop() {
        ctx.requestStop();
    }

    /** Runs every phase; resources stay open until {@link #close()}. */
    public DemoResult run() {
        FashionMnist.requireDataset(dataset);
        List<String> notes = DemoNotes.forPlan(plan);

        begin(DemoPhase.STACK, "starting the local stack (Kafka KRaft broker + schema registry) in " + dataDir);
        StackPhase.Output stack = new StackPhase(ctx).run();
        this.connection = stack.connection();
        Topics topics = stack.config().topics();
        end(DemoPhase.STACK, stack.summary());

        begin(DemoPhase.TOPICS, "creating topics and starting the monitors");
        TopicsPhase topicsPhase = new TopicsPhase(ctx, stack);
        topicsPhase.createTopics(detail -> end(DemoPhase.TOPICS, detail));
        MonitorConfig monitorConfig = topicsPhase.startMonitors();

        begin(DemoPhase.INGEST, "publishing Fashion-MNIST to " + topics.inputs());
        IngestPhase.Output data = new IngestPhase(ctx).run(stack.config(), topics.inputs());
        end(DemoPhase.INGEST, data.summary(plan));
        ctx.checkStop();

        TeacherPhase teacherPhase = new TeacherPhase(ctx, data);
        Optional<SavedModel> cached = teacherPhase.findCached();
        begin(DemoPhase.TEACHER, teacherPhase.announce(cached));
        TeacherPhase.Output teacher = teacherPhase.run(cached);
        end(DemoPhase.TEACHER, TeacherPhase.summary(teacher));
        ctx.checkStop();

        begin(DemoPhase.SERVE, "serving the teacher: " + topics.inputs() + " -> " + topics.teacherOutputs()
                + " (exactly once)");
        ServePhase.Output served = new ServePhase(ctx).run(teacher.model(), stack.connection(), data.inputs(plan));
        end(DemoPhase.SERVE, served.summary());
        ctx.checkStop();

        begin(DemoPhase.STUDENTS, "training the students on " + topics.teacherOutputs() + ": a group of "
                + StudentsPhase.KD_TRAINERS.size() + " distilling trainers and the labels-only baseline, at once");
        StudentsPhase.Output students = new StudentsPhase(ctx, stack).run(topics.metrics());
        end(DemoPhase.STUDENTS, students.summary());

        begin(DemoPhase.READ_BACK, ReadBackPhase.announce(topics));
        ReadBackPhase.Output records = new ReadBackPhase(ctx, stack.config()).run(topics);
        if (!records.monitorsCaughtUp()) {
            notes.add(DemoNotes.monitorsBehind(ReadBackPhase.MONITOR_DRAIN));
        }
        end(DemoPhase.READ_BACK, records.summary());

        begin(DemoPhase.REPORT, "writing the report " + reportFile);
        ReportPhase.Output report = new ReportPhase(ctx, reportFile)
                .run(new ReportPhase.Input(teacher, monitorConfig, served, students, records), notes);
        end(DemoPhase.REPORT, "");
        return new DemoResult(plan, dataDir, reportFile, report.teacher(), served.served(), served.perSecond(),
                report.students(), report.deadLetters(), report.alertsFiring(), phaseSeconds, notes, report.data(),
                data.ingested().labelled());
    }

    /** How to reach the demo's stack (bootstrap servers, registry URL) while it runs; empty before it started. */
    public Map<String, Object> connection() {
        return connection;
    }

    /** Readiness of the demo's services, for the health endpoint: down until they have started, and after they stop. */
    public List<HealthCheck> healthChecks() {
        return List.of(
                new HealthCheck("teacher-service", () -> {
                    TeacherService t = ctx.runningTeacher();
                    return t != null && t.isRunning();
                }),
                new HealthCheck("monitors", () -> {
                    MonitorApp m = ctx.runningMonitors();
                    return m != null && m.streams().state().isRunningOrRebalancing();
                }));
    }

    // ------------------------------------------------------------------ phase lines

    private void begin(DemoPhase phase, String what) {
        ctx.checkStop();
        phaseStart = System.nanoTime();
        console.printf(Locale.ROOT, "[%d/%d] %s ...%n", phase.number(), DemoPhase.count(), what);
        console.flush();
        LOGGER.info("demo phase {}/{}: {}", phase.number(), DemoPhase.count(), what);
    }

    private void end(DemoPhase phase, String detail) {
        double seconds = (System.nanoTime() - phaseStart) / 1e9;
        phaseSeconds.put(phase.label(), seconds);
        console.printf(Locale.ROOT, "      done in %.1f s%s%n", seconds, detail.isEmpty() ? "" : ": " + detail);
        console.flush();
    }

    static String percent(Double accuracy) {
        return accuracy == null ? "n/a" : String.format(Locale.ROOT, "%.2f%%", 100 * accuracy);
    }

    static String shortSha(String sha) {
        return sha == null ? "n/a" : sha.length() > 12 ? sha.substring(0, 12) : sha;
    }

    /** Stops what is running in the reverse order it was started: trainers, monitors, teacher-service, model, stack. */
    @Override
    public void close() {
        ctx.requestStop();
        ctx.closeAll();
    }

    /** Builds a {@link DemoRunner}: the plan, data directory and report file are required. */
    public static final class Builder {
        private DemoPlan plan;
        private Path dataDir;
        private Path reportFile;
        private ModelStore store;
        private Path dataset = FashionMnist.DEFAULT_DIR;
        private PrintWriter console = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
        private PrintStream progressOut = System.err;
        private ProgressBar.Mode progressMode = ProgressBar.Mode.auto();
        private Observability observability;

        private Builder() {
        }

        /** Metrics registry to bind the teacher, monitor, trainer-step and Kafka client meters to. */
        public Builder optObservability(Observability o) {
            this.observability = o;
            return this;
        }

        public Builder setPlan(DemoPlan p) {
            this.plan = p;
            return this;
        }

        /** Directory of the stack's data: created, or replaced when a previous demo made it; kept afterwards. */
        public Builder setDataDir(Path dir) {
            this.dataDir = dir;
            return this;
        }

        public Builder setReportFile(Path file) {
            this.reportFile = file;
            return this;
        }

        /** Model store for the cached teacher (default {@code ${KDSTREAM_HOME:-~/.kdstream}/models}). */
        public Builder optModelStore(ModelStore s) {
            this.store = s;
            return this;
        }

        /** Directory of the Fashion-MNIST IDX files. */
        public Builder optDataset(Path dir) {
            this.dataset = Objects.requireNonNull(dir, "dataset");
            return this;
        }

        /** Where phase lines go (stdout by default). */
        public Builder optConsole(PrintWriter w) {
            this.console = Objects.requireNonNull(w, "console");
            return this;
        }

        /** Where progress bars go, and how they look (stderr, auto by default). */
        public Builder optProgress(PrintStream out, ProgressBar.Mode mode) {
            this.progressOut = Objects.requireNonNull(out, "out");
            this.progressMode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        public DemoRunner build() {
            Objects.requireNonNull(plan, "setPlan is required");
            Objects.requireNonNull(dataDir, "setDataDir is required");
            Objects.requireNonNull(reportFile, "setReportFile is required");
            return new DemoRunner(this);
        }
    }
}
