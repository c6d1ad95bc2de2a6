package io.kdstream.ops.cli;

import io.kdstream.ops.docs.ConfigDocs;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code kdstream config ...}: the configuration reference. */
@Command(name = "config", mixinStandardHelpOptions = true, description = "Configuration tools.",
        subcommands = {ConfigCommand.Docs.class})
public final class ConfigCommand {

    @Command(name = "docs", mixinStandardHelpOptions = true,
            description = "Write the configuration reference (Markdown) generated from every component's ConfigDef.")
    static final class Docs implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--out", paramLabel = "FILE", description = "File to write (default: standard output).")
        Path out;

        @Override
        public Integer call() throws IOException {
            String markdown = ConfigDocs.markdown();
            if (out == null) {
                PrintWriter w = spec.commandLine().getOut();
                w.print(markdown);
                w.flush();
            } else {
                Path parent = out.toAbsolutePath().getParent();
                if (parent != null) {
                    Files.createDirectories(parent);
                }
                Files.writeString(out, markdown, StandardCharsets.UTF_8);
                spec.commandLine().getOut().println("wrote " + out);
                spec.commandLine().getOut().flush();
            }
            return 0;
        }
    }
}
