package io.kdstream.ops.cli;

import io.kdstream.core.config.KdConfigLoader;
import io.kdstream.ops.observe.HealthCheck;
import io.kdstream.ops.observe.Observability;
import io.kdstream.ops.observe.ObservabilityConfig;
import io.kdstream.ops.observe.ObservabilityServer;
import io.kdstream.ops.stack.LocalStack;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/** {@code kdstream up}: runs the local stack in the foreground until Ctrl-C or SIGTERM. */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = {"Start the local stack: a single-node Kafka broker (KRaft, broker and controller in one process) "
                + "and the development schema registry, on 127.0.0.1. Runs until interrupted (Ctrl-C).",
            "State is kept in --data-dir: a restart on the same directory keeps topics, records and schemas."})
public final class UpCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Where the broker and registry keep their data (default: ${KDSTREAM_HOME:-~/.kdstream}/local).")
    Path dataDir;

    @Option(names = "--port", defaultValue = "9092", paramLabel = "PORT",
            description = "Kafka port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--registry-port", defaultValue = "8081", paramLabel = "PORT",
            description = "Schema registry port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int registryPort;

    @Option(names = "--controller-port", defaultValue = "0", paramLabel = "PORT",
            description = "KRaft controller port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int controllerPort;

    @Mixin
    MetricsOptions metrics;

    @Override
    public Integer call() throws InterruptedException {
        Path dir = dataDir != null ? dataDir : LocalStack.defaultDataDir();
        PrintWriter out = spec.commandLine().getOut();
        ObservabilityConfig metricsConfig = metrics.config(KdConfigLoader.load(null, System.getenv(), Map.of()));
        out.println("starting the local stack in " + dir.toAbsolutePath() + " ...");
        out.flush();
        long start = System.nanoTime();
        LocalStack stack = LocalStack.builder()
                .optDataDir(dir)
                .optKafkaPort(port)
                .optRegistryPort(registryPort)
                .optControllerPort(controllerPort)
                .build()
                .start();
        Observability observability = Observability.forService("local-stack");
        AtomicBoolean up = new AtomicBoolean(true);
        ObservabilityServer server;
        try {
            server = MetricsOptions.start(metricsConfig, observability, List.of(new HealthCheck("stack", up::get)),
                    List.of(), out);
        } catch (RuntimeException e) {
            observability.close();
            stack.close();
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            out.println("stopping the local stack ...");
            out.flush();
            up.set(false);
            MetricsOptions.stop(server);
            observability.close();
            stack.close();
            out.println("stopped");
            out.flush();
            stopped.countDown();
        }, "kdstream-up-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        out.printf("kdstream local stack is up (%.1f s)%n", (System.nanoTime() - start) / 1e9);
        out.println("  bootstrap servers:   " + stack.bootstrapServers());
        out.println("  schema registry:     " + stack.registryUrl());
        out.println("  data directory:      " + stack.dataDir().toAbsolutePath()
                + (stack.freshStorage() ? " (new, cluster id " : " (reused, cluster id ") + stack.clusterId() + ")");
        out.println("next:                kdstream topics create" + connectionFlags(stack));
        out.println("press Ctrl-C to stop");
        out.flush();
        while (!stopped.await(1, TimeUnit.HOURS)) {
            // serve until the shutdown hook has closed the stack
        }
        return 0;
    }

    /** The flags other commands need to reach this stack; empty on the default ports. */
    static String connectionFlags(LocalStack stack) {
        StringBuilder flags = new StringBuilder();
        if (!stack.bootstrapServers().equals(io.kdstream.core.config.KdConfig.DEFAULT_BOOTSTRAP_SERVERS)) {
            flags.append(" --bootstrap-server ").append(stack.bootstrapServers());
        }
        if (!stack.registryUrl().equals(io.kdstream.core.config.KdConfig.DEFAULT_SCHEMA_REGISTRY_URL)) {
            flags.append(" --schema-registry-url ").append(stack.registryUrl());
        }
        return flags.toString();
    }
}
