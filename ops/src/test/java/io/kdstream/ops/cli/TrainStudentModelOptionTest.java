package io.kdstream.ops.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code kdstream train --student-model FILE.pt}: the file reaches the trainer, which names it when it is unusable. */
class TrainStudentModelOptionTest {

    @Test
    void shouldStopWithAOneLineErrorNamingAStudentModelThatIsNotTorchScript(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("student.pt");
        Files.writeString(bad, "not a TorchScript archive");
        Files.writeString(dir.resolve("student.json"), "{\"format\": \"torchscript\", \"architecture\": \"bad\", "
                + "\"inputShape\": [1, 28, 28], \"numClasses\": 10, \"parametersFile\": \"student.pt\"}");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = KdstreamCli.newCommandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));

        int code = cli.execute("train", "--student-model", bad.toString(), "--bootstrap-server", "127.0.0.1:1",
                "--checkpoint-dir", dir.resolve("run").toString());

        assertThat(code).isEqualTo(KdstreamCli.EXIT_FAILURE);
        assertThat(err.toString()).startsWith("error: ").contains(bad.toString()).contains("TorchScript module");
        assertThat(err.toString().strip().lines()).hasSize(1);
    }
}
