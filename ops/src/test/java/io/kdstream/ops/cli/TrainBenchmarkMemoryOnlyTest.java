package io.kdstream.ops.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code kdstream train benchmark --memory-only}: the training step timed over in-memory batches, no broker. */
class TrainBenchmarkMemoryOnlyTest {
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int execute(String... args) {
        CommandLine cli = KdstreamCli.newCommandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    @Test
    void shouldTimeTheStepOverTheGivenRecordsAndTeacherLogitsWithNoBrokerReachable(@TempDir Path dir) throws IOException {
        writeDataset(dir, 16);
        Path logits = dir.resolve("logits.f32");
        Files.write(logits, new byte[16 * 10 * Float.BYTES]); // all-zero teacher logits: a uniform teacher

        int code = execute("train", "benchmark", "--memory-only", "--data", dir.toString(), "--records", "12",
                "--warmup", "2", "--steps", "3", "--teacher-logits", logits.toString(), "--student", "fmnist-mlp-student",
                "-s", "trainer.batch.size=4", "--bootstrap-server", "127.0.0.1:1");

        assertThat(code).as(err.toString()).isZero();
        assertThat(out.toString())
                .contains("student: fmnist-mlp-student, batch size: 4, steps: 3 (after 2 warm-up), distinct batches: 3")
                .contains("teacher logits: " + logits)
                .containsPattern("memory-only: \\d+ samples/s");
    }

    @Test
    void shouldStopWithAOneLineErrorWhenTheDatasetIsMissing(@TempDir Path dir) {
        int code = execute("train", "benchmark", "--memory-only", "--data", dir.toString(), "--steps", "1");

        assertThat(code).isEqualTo(KdstreamCli.EXIT_FAILURE);
        assertThat(err.toString()).startsWith("error: Fashion-MNIST not found");
        assertThat(err.toString().strip().lines()).hasSize(1);
    }

    @Test
    void shouldRefuseMemoryOnlyOptionsWithoutMemoryOnly(@TempDir Path dir) {
        int code = execute("train", "benchmark", "--teacher-logits", dir.resolve("x.f32").toString(),
                "--bootstrap-server", "127.0.0.1:1");

        assertThat(code).isEqualTo(CommandLine.ExitCode.USAGE);
        assertThat(err.toString()).contains("apply to --memory-only only");
    }

    /** Both splits with {@code n} 28x28 images of pixel value (i + j) mod 256, label i mod 10. */
    private static void writeDataset(Path dir, int n) throws IOException {
        for (String stem : new String[] {"train", "t10k"}) {
            try (DataOutputStream images = new DataOutputStream(Files.newOutputStream(dir.resolve(stem + "-images-idx3-ubyte")));
                 DataOutputStream labels = new DataOutputStream(Files.newOutputStream(dir.resolve(stem + "-labels-idx1-ubyte")))) {
                images.writeInt(0x803);
                images.writeInt(n);
                images.writeInt(28);
                images.writeInt(28);
                labels.writeInt(0x801);
                labels.writeInt(n);
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < 28 * 28; j++) {
                        images.writeByte(i + j);
                    }
                    labels.writeByte(i % 10);
                }
            }
        }
    }
}
