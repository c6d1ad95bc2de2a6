package io.kdstream.ops.cli;

import io.kdstream.core.KdException;

import org.apache.kafka.common.config.ConfigException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The {@code kdstream} command line. Exit codes: 0 on success, 1 when a command fails (with a one-line
 * {@code error: <reason>} on stderr, and the stack trace with {@code --verbose}), 2 on a usage error.
 */
@Command(name = "kdstream",
        description = "Online knowledge distillation over Apache Kafka.",
        mixinStandardHelpOptions = true,
        versionProvider = KdstreamCli.VersionProvider.class,
        subcommands = {
            UpCommand.class,
            TopicsCommand.class,
            IngestCommand.class,
            ConsumeCommand.class,
            TeacherCommand.class,
            TrainCommand.class,
            ReplayCommand.class,
            MonitorCommand.class,
            DemoCommand.class,
            ConfigCommand.class,
            CommandLine.HelpCommand.class,
        })
public final class KdstreamCli {

    /** Exit code of a command that failed at run time. */
    public static final int EXIT_FAILURE = 1;

    static final String VERBOSE_OPTION = "--verbose";

    @Option(names = {"-v", VERBOSE_OPTION}, scope = ScopeType.INHERIT,
            description = "Show informational logs and full stack traces on errors.")
    boolean verbose;

    public static void main(String[] args) {
        io.kdstream.core.djl.EngineThreads.pin();
        configureLogging(isVerbose(args));
        System.exit(newCommandLine().execute(args));
    }

    /** The command line with kdstream's error handling; tests run commands through it. */
    public static CommandLine newCommandLine() {
        CommandLine cli = new CommandLine(new KdstreamCli());
        cli.setExecutionExceptionHandler(new ErrorHandler());
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        return cli;
    }

    static boolean isVerbose(String[] args) {
        for (String arg : args) {
            if ("--".equals(arg)) {
                return false;
            }
            if (VERBOSE_OPTION.equals(arg) || "-v".equals(arg)) {
                return true;
            }
        }
        return false;
    }

    /**
     * slf4j-simple reads its levels once, when the first logger is created: set them before anything logs. The defaults
     * are in {@code simplelogger.properties}; system properties win over it.
     */
    static void configureLogging(boolean verbose) {
        if (verbose) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "info");
            for (String ours : List.of("io.kdstream", "io.kdstream.ops.stack", "io.kdstream.ops.registry")) {
                System.setProperty("org.slf4j.simpleLogger.log." + ours, "debug");
            }
            for (String kafka : List.of("org.apache.kafka", "kafka", "state.change.logger",
                    "org.apache.kafka.controller.QuorumController", "org.apache.kafka.clients.NetworkClient")) {
                System.setProperty("org.slf4j.simpleLogger.log." + kafka, "info");
            }
        }
    }

    /** Prints {@code error: <reason>} (and the stack trace with {@code --verbose}) and returns {@link #EXIT_FAILURE}. */
    static final class ErrorHandler implements IExecutionExceptionHandler {
        @Override
        public int handleExecutionException(Exception ex, CommandLine commandLine, ParseResult parseResult) {
            PrintWriter err = commandLine.getErr();
            err.println(commandLine.getColorScheme().errorText("error: " + describe(ex)));
            if (isVerbose(parseResult.originalArgs().toArray(String[]::new))) {
                ex.printStackTrace(err);
            }
            err.flush();
            return EXIT_FAILURE;
        }
    }

    /** A one-line reason for a failure: the innermost useful message, without wrapper exceptions. */
    static String describe(Throwable ex) {
        Throwable t = ex;
        while ((t instanceof ExecutionException || t instanceof CompletionException
                || t instanceof UncheckedIOException || t instanceof CommandLine.ExecutionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        String message = t.getMessage();
        if (message == null || message.isBlank()) {
            message = t.getClass().getSimpleName();
            if (t.getCause() != null && t.getCause().getMessage() != null) {
                message += ": " + t.getCause().getMessage();
            }
        } else if (!(t instanceof KdException) && !(t instanceof ConfigException)
                && !(t instanceof IllegalArgumentException)) {
            message = t.getClass().getSimpleName() + ": " + message;
        }
        return message.replace('\n', ' ').trim();
    }

    /** The version from the build ({@code kdstream-version.properties}). */
    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            Properties props = new Properties();
            try (InputStream in = KdstreamCli.class.getResourceAsStream("/kdstream-version.properties")) {
                if (in != null) {
                    props.load(in);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return new String[] {
                "kdstream " + props.getProperty("version", "unknown"),
                "Kafka clients " + props.getProperty("kafka.version", "unknown")
                        + ", Avro " + props.getProperty("avro.version", "unknown")
                        + ", DJL " + props.getProperty("djl.version", "unknown"),
                "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")",
            };
        }
    }
}
