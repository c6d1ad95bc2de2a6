package io.kdstream.ops.cli;

import io.kdstream.ops.ingest.npy.NpyFiles;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

import static org.assertj.core.api.Assertions.assertThat;

/** Option parsing and the checks {@code ingest npy} and {@code ingest images} make before they connect. */
class ByoIngestCommandTest {

    @TempDir
    Path dir;

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
    void shouldRegisterNpyAndImagesAndParseTheirOptions() {
        assertThat(KdstreamCli.newCommandLine().getSubcommands().get("ingest").getSubcommands())
                .containsKeys("fashion-mnist", "npy", "images");
        CommandLine.ParseResult npy = KdstreamCli.newCommandLine().parseArgs("ingest", "npy", "x.npy", "--labels", "y.npy",
                "--label-fraction", "0.1", "--label-seed", "3", "--source", "mine", "--id-prefix", "p", "--topic", "t",
                "--limit", "9");
        NpyIngestCommand n = npy.subcommand().subcommand().commandSpec().commandLine().getCommand();
        assertThat(n.file).isEqualTo(Path.of("x.npy"));
        assertThat(n.labels).isEqualTo(Path.of("y.npy"));
        assertThat(n.idPrefix).isEqualTo("p");
        assertThat(n.options.labels().fraction()).isEqualTo(0.1);
        assertThat(n.options.labels().seed()).isEqualTo(3);
        assertThat(n.options.source).isEqualTo("mine");
        assertThat(n.options.topic).isEqualTo("t");
        assertThat(n.options.limit).isEqualTo(9);

        CommandLine.ParseResult images = KdstreamCli.newCommandLine().parseArgs("ingest", "images", "pics",
                "--resize", "32x32", "--classes", "c.txt", "--channels", "3");
        ImagesIngestCommand i = images.subcommand().subcommand().commandSpec().commandLine().getCommand();
        assertThat(i.dir).isEqualTo(Path.of("pics"));
        assertThat(i.resize).isEqualTo("32x32");
        assertThat(i.classes).isEqualTo(Path.of("c.txt"));
        assertThat(i.channels).isEqualTo("3");
    }

    @Test
    void shouldRefuseABadNpyFileWithOneLineNamingItBeforeConnecting() throws IOException {
        Path x = NpyFiles.write(dir.resolve("x.npy"), 1, "<f4", true, new long[] {2, 2}, new byte[16]);

        Run run = run("ingest", "npy", x.toString(), "--bootstrap-server", "127.0.0.1:1");

        assertThat(run.exitCode()).isEqualTo(KdstreamCli.EXIT_FAILURE);
        assertThat(run.err()).startsWith("error: ").contains(x.toString()).contains("Fortran");
        assertThat(run.err().strip().lines()).hasSize(1);
    }

    @Test
    void shouldRefuseMixedImageSizesAndBadOptionsBeforeConnecting() throws IOException {
        png(dir.resolve("a/one.png"), 4, 4);
        png(dir.resolve("b/two.png"), 5, 4);

        Run mixed = run("ingest", "images", dir.toString(), "--bootstrap-server", "127.0.0.1:1");
        Run resize = run("ingest", "images", dir.toString(), "--resize", "32", "--bootstrap-server", "127.0.0.1:1");
        Run channels = run("ingest", "images", dir.toString(), "--channels", "2", "--bootstrap-server", "127.0.0.1:1");

        assertThat(mixed.exitCode()).isEqualTo(KdstreamCli.EXIT_FAILURE);
        assertThat(mixed.err()).contains(dir.resolve("b/two.png").toString()).contains("--resize");
        assertThat(resize.exitCode()).isEqualTo(2);
        assertThat(resize.err()).contains("--resize").contains("HxW");
        assertThat(channels.exitCode()).isEqualTo(2);
        assertThat(channels.err()).contains("--channels");
    }

    private static void png(Path file, int h, int w) throws IOException {
        Files.createDirectories(file.getParent());
        ImageIO.write(new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB), "png", file.toFile());
    }
}
