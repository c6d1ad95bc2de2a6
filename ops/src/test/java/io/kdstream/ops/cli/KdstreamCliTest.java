package io.kdstream.ops.cli;

import io.kdstream.core.KdException;

import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;

import static org.assertj.core.api.Assertions.assertThat;

class KdstreamCliTest {

    /** Runs the CLI in-process and captures what it prints. */
    private record Run(int exitCode, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = KdstreamCli.newCommandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void shouldRegisterTheSubcommands() {
        assertThat(KdstreamCli.newCommandLine().getSubcommands())
                .containsKeys("up", "topics", "ingest", "consume", "teacher", "help");
        assertThat(KdstreamCli.newCommandLine().getSubcommands().get("topics").getSubcommands())
                .containsKeys("create", "list", "describe");
        assertThat(KdstreamCli.newCommandLine().getSubcommands().get("ingest").getSubcommands())
                .containsKeys("fashion-mnist");
    }

    @Test
    void shouldPrintTheBuildVersion() {
        Run run = run("--version");

        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).startsWith("kdstream 0.").contains("Kafka clients 4.").doesNotContain("${");
    }

    @Test
    void shouldFailWithAOneLineReasonAndInstallHintWhenTheDatasetIsMissing(@TempDir Path empty) {
        Run run = run("ingest", "fashion-mnist", "--data", empty.toString(), "--bootstrap-server", "127.0.0.1:1");

        assertThat(run.exitCode()).isEqualTo(KdstreamCli.EXIT_FAILURE);
        assertThat(run.err()).startsWith("error: ").contains("apt-get install dataset-fashion-mnist").contains("--data");
        assertThat(run.err().strip().lines()).hasSize(1);
        assertThat(run.err()).doesNotContain("\tat ");
    }

    @Test
    void shouldPrintTheStackTraceOnlyWithVerbose(@TempDir Path empty) {
        Run run = run("ingest", "fashion-mnist", "--verbose", "--data", empty.toString());

        assertThat(run.exitCode()).isEqualTo(KdstreamCli.EXIT_FAILURE);
        assertThat(run.err()).startsWith("error: ").contains("\tat ");
    }

    @Test
    void shouldRejectUnknownOptionsAsAUsageError() {
        Run run = run("consume", "kd.inputs", "--no-such-flag");

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("--no-such-flag");
    }

    @Test
    void shouldRejectANegativeLimit() {
        Run run = run("ingest", "fashion-mnist", "--limit", "-3");

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("--limit");
    }

    @Test
    void shouldParseIngestOptions() {
        CommandLine cli = KdstreamCli.newCommandLine();
        CommandLine.ParseResult parsed = cli.parseArgs("ingest", "fashion-mnist", "--split", "TEST", "--limit", "100",
                "--data", "/tmp/fm", "--topic", "my.inputs", "--bootstrap-server", "b:9092");
        IngestCommand.FashionMnistCommand cmd = parsed.subcommand().subcommand().commandSpec().commandLine().getCommand();

        assertThat(cmd.split).isEqualTo(IngestCommand.SplitChoice.TEST);
        assertThat(cmd.limit).isEqualTo(100);
        assertThat(cmd.data).isEqualTo(Path.of("/tmp/fm"));
        assertThat(cmd.topic).isEqualTo("my.inputs");
        assertThat(cmd.connection.bootstrapServers).isEqualTo("b:9092");
    }

    @Test
    void shouldDefaultUpToTheStandardPorts() {
        CommandLine cli = KdstreamCli.newCommandLine();
        UpCommand up = cli.parseArgs("up").subcommand().commandSpec().commandLine().getCommand();

        assertThat(up.port).isEqualTo(9092);
        assertThat(up.registryPort).isEqualTo(8081);
        assertThat(up.controllerPort).isZero();
        assertThat(up.dataDir).isNull();
    }

    @Test
    void shouldAcceptVerboseAfterTheSubcommand() {
        CommandLine cli = KdstreamCli.newCommandLine();
        cli.parseArgs("topics", "list", "--verbose");

        assertThat(((KdstreamCli) cli.getCommand()).verbose).isTrue();
        assertThat(KdstreamCli.isVerbose(new String[] {"topics", "-v"})).isTrue();
        assertThat(KdstreamCli.isVerbose(new String[] {"consume", "--", "--verbose"})).isFalse();
    }

    @Test
    void shouldDescribeFailuresByTheirInnermostMessage() {
        assertThat(KdstreamCli.describe(new ExecutionException(new KdException("topic x does not exist"))))
                .isEqualTo("topic x does not exist");
        assertThat(KdstreamCli.describe(new ExecutionException(new TimeoutException("Timed out waiting for a node"))))
                .isEqualTo("TimeoutException: Timed out waiting for a node");
        assertThat(KdstreamCli.describe(new IllegalStateException())).isEqualTo("IllegalStateException");
        assertThat(KdstreamCli.describe(new KdException("two\nlines"))).isEqualTo("two lines");
    }
}
