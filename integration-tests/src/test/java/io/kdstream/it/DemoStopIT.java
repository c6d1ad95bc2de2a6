package io.kdstream.it;

import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.model.ModelStore;
import io.kdstream.ops.cli.ProgressBar;
import io.kdstream.ops.demo.DemoPlan;
import io.kdstream.ops.demo.DemoRunner;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** What Ctrl-C does to a running demo: {@code stop()} ends the run, {@code close()} stops every server it started. */
class DemoStopIT {

    private static final Pattern PORTS = Pattern.compile("Kafka 127\\.0\\.0\\.1:(\\d+), registry http://127\\.0\\.0\\.1:(\\d+)");

    @Test
    void shouldStopMidRunAndReleaseTheBrokerAndRegistryPorts(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isDirectory(FashionMnist.DEFAULT_DIR), "Fashion-MNIST is not installed");
        StringWriter console = new StringWriter();
        DemoRunner runner = DemoRunner.builder().setPlan(DemoPlan.quick()).setDataDir(dir.resolve("data"))
                .setReportFile(dir.resolve("report.html"))
                .optModelStore(ModelStore.open(dir.resolve("models")))
                .optConsole(new PrintWriter(console, true))
                .optProgress(new PrintStream(PrintStream.nullOutputStream(), true, StandardCharsets.UTF_8),
                        ProgressBar.Mode.NONE)
                .build();
        // Given a demo that has started its stack and is publishing or past it
        CompletableFuture<Void> run = CompletableFuture.runAsync(() -> runner.run());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!console.toString().contains("[3/8]") && !run.isDone() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        Matcher ports = PORTS.matcher(console.toString());
        assertThat(ports.find()).as("stack started: %s", console).isTrue();
        int kafka = Integer.parseInt(ports.group(1));
        int registry = Integer.parseInt(ports.group(2));
        assertThat(listening(kafka)).isTrue();

        // When it is stopped (what the shutdown hook does on Ctrl-C) and closed
        runner.stop();
        assertThatThrownBy(() -> run.get(120, TimeUnit.SECONDS)).hasCauseInstanceOf(DemoRunner.StoppedException.class);
        runner.close();

        // Then nothing listens any more and no report was written
        assertThat(listening(kafka)).as("Kafka port %d after close", kafka).isFalse();
        assertThat(listening(registry)).as("registry port %d after close", registry).isFalse();
        assertThat(dir.resolve("report.html")).doesNotExist();
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1_000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
