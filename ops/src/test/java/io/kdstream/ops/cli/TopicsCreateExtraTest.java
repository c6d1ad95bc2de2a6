package io.kdstream.ops.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code topics create --extra}: user topics planned with the inputs topic's settings (a dry run needs no broker). */
class TopicsCreateExtraTest {

    @Test
    void shouldPlanExtraTopicsWithTheSettingsOfTheInputsTopic() {
        StringWriter out = new StringWriter();
        CommandLine cli = KdstreamCli.newCommandLine();
        cli.setOut(new PrintWriter(out, true));
        int exit = cli.execute("topics", "create", "--dry-run", "--partitions", "3", "--extra", "shapes.held-out,more",
                "--extra", "kd.inputs");

        assertThat(exit).isZero();
        String inputs = out.toString().lines().filter(l -> l.startsWith("kd.inputs ")).findFirst().orElseThrow();
        String heldOut = out.toString().lines().filter(l -> l.startsWith("shapes.held-out")).findFirst().orElseThrow();
        assertThat(heldOut.substring("shapes.held-out".length()).trim())
                .isEqualTo(inputs.substring("kd.inputs".length()).trim()).contains("partitions=3");
        assertThat(out.toString().lines().filter(l -> l.startsWith("more "))).hasSize(1);
        // a catalog topic named again is planned once
        assertThat(out.toString().lines().filter(l -> l.startsWith("kd.inputs "))).hasSize(1);
    }

    @Test
    void shouldRefuseAnEmptyExtraTopicName() {
        StringWriter err = new StringWriter();
        CommandLine cli = KdstreamCli.newCommandLine();
        cli.setErr(new PrintWriter(err, true));
        cli.setOut(new PrintWriter(new StringWriter(), true));

        int exit = cli.execute("topics", "create", "--dry-run", "--extra", " ");

        assertThat(exit).isNotZero();
        assertThat(err.toString()).contains("--extra: empty topic name");
    }
}
