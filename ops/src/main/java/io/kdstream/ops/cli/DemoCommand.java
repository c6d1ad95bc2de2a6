package io.kdstream.ops.cli;

import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.model.ModelStore;
import io.kdstream.ops.demo.DemoPlan;
import io.kdstream.ops.demo.DemoResult;
import io.kdstream.ops.demo.DemoRunner;
import io.kdstream.ops.demo.SummaryTable;
import io.kdstream.ops.observe.Observability;
import io.kdstream.ops.observe.ObservabilityServer;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** {@code kdstream demo}: the whole pipeline in one process, ending with a summary table and an HTML report. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run the whole job in one process: a local Kafka stack, Fashion-MNIST published to kd.inputs, the "
                + "teacher trained (or reused from the model store) and served, a distilled student trained by two "
                + "trainers in one group (averaging their weights) and a labels-only baseline in another group on the "
                + "same teacher outputs (fan-out), the monitors watching. Ends with a summary and "
                + "a self-contained HTML report built from the records on the topics.",
            "Ctrl-C stops everything cleanly."})
public final class DemoCommand implements Callable<Integer> {

    /** Exit code when the demo was stopped (Ctrl-C). */
    public static final int EXIT_STOPPED = 130;

    @Spec
    CommandSpec spec;

    @Option(names = "--quick", description = "First-contact run: 6,000 images, one teacher epoch, two student epochs "
            + "(a few minutes on two cores).")
    boolean quick;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "Directory of the demo's broker data, kept after the "
            + "run so it can be replayed; a previous demo's data there is replaced "
            + "(default: ${KDSTREAM_HOME:-~/.kdstream}/demo).")
    Path dataDir;

    @Option(names = "--report", paramLabel = "FILE", defaultValue = "kdstream-demo-report.html",
            description = "HTML report to write (default: ${DEFAULT-VALUE}).")
    Path report;

    @Option(names = "--data", paramLabel = "DIR", description = "Directory with the Fashion-MNIST IDX files "
            + "(default: /usr/share/datasets/fashion-mnist).")
    Path data = FashionMnist.DEFAULT_DIR;

    @Option(names = "--store", paramLabel = "DIR",
            description = "Model store of the cached teacher (default: ${KDSTREAM_HOME:-~/.kdstream}/models).")
    Path store;

    @Option(names = "--metrics-port", paramLabel = "PORT", description = "Serve Prometheus metrics at "
            + "http://127.0.0.1:PORT/metrics and liveness/readiness at /health while the demo runs; 0 picks a free port.")
    Integer metricsPort;

    @Option(names = "--progress", defaultValue = "auto", paramLabel = "auto|bar|plain|none",
            description = "How to show progress on stderr (default: ${DEFAULT-VALUE}).")
    String progress;

    static Path defaultDataDir(String kdstreamHome, String userHome) {
        Path home = kdstreamHome != null && !kdstreamHome.isBlank() ? Path.of(kdstreamHome) : Path.of(userHome, ".kdstream");
        return home.resolve("demo");
    }

    /**
     * Without {@code --verbose} the demo shows its own phase lines and progress only: the components' INFO logs and
     * Kafka's routine warnings would bury them. slf4j-simple reads a logger's level when the logger is created, which
     * for the pipeline's classes happens after this.
     */
    private void quietLogs() {
        boolean verbose = spec.parent() != null && spec.parent().userObject() instanceof KdstreamCli cli && cli.verbose;
        if (verbose) {
            return;
        }
        for (String name : List.of("io.kdstream", "org.apache.kafka", "ai.djl")) {
            System.setProperty("org.slf4j.simpleLogger.log." + name, "error");
        }
        // the embedded broker's and controller's own logs (slow events on a loaded machine, fenced producers)
        for (String name : List.of("kafka", "org.apache.kafka.controller", "org.apache.kafka.server",
                "org.apache.kafka.storage", "org.apache.kafka.raft")) {
            System.setProperty("org.slf4j.simpleLogger.log." + name, "off");
        }
    }

    @Override
    public Integer call() throws InterruptedException {
        quietLogs();
        PrintWriter out = spec.commandLine().getOut();
        ProgressBar.Mode mode = IngestCommand.progressMode(progress);
        Path dir = dataDir != null ? dataDir : defaultDataDir(System.getenv("KDSTREAM_HOME"), System.getProperty("user.home"));
        Observability observability = metricsPort == null ? null : Observability.forService("kdstream-demo");
        DemoRunner runner = DemoRunner.builder()
                .optObservability(observability)
                .setPlan(quick ? DemoPlan.quick() : DemoPlan.full())
                .setDataDir(dir)
                .setReportFile(report)
                .optModelStore(store == null ? ModelStore.openDefault() : ModelStore.open(store))
                .optDataset(data)
                .optConsole(out)
                .optProgress(System.err, mode)
                .build();
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            out.println();
            out.println("stopping the demo ...");
            out.flush();
            runner.stop();
            try {
                finished.await(90, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "kdstream-demo-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        ObservabilityServer server = null;
        try {
            if (observability != null) {
                ObservabilityServer.Builder b = ObservabilityServer.builder().setObservability(observability)
                        .setPort(metricsPort);
                runner.healthChecks().forEach(b::addCheck);
                server = b.build().start();
                out.printf("metrics: http://127.0.0.1:%d/metrics, health: http://127.0.0.1:%d/health%n", server.port(),
                        server.port());
                out.flush();
            }
            DemoResult result = runner.run();
            runner.close();
            out.print(SummaryTable.render(result));
            out.flush();
            return 0;
        } catch (DemoRunner.StoppedException e) {
            out.println("stopped; everything that was started has been shut down");
            out.flush();
            return EXIT_STOPPED;
        } finally {
            runner.close();
            if (server != null) {
                server.close();
            }
            if (observability != null) {
                observability.close();
            }
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: the demo was stopped
            }
        }
    }
}
