package io.kdstream.it.support;

import io.kdstream.trainer.TrainerMain;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Starts a main class of the test classpath in a JVM of its own, with stdout and stderr going to a log file. */
public final class ChildJvm {

    /** Offline DJL with one intra-op and one inter-op thread: the engine settings of the test JVM itself. */
    public static final List<String> ENGINE = List.of("-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=1",
            "-Dai.djl.pytorch.num_interop_threads=1");

    private ChildJvm() {
    }

    /** {@code java OPTIONS -cp <test classpath> MAIN ARGS > log 2>&1}. */
    public static Process start(List<String> options, Class<?> main, List<String> args, Path log) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(options);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** A trainer process ({@link TrainerMain}) on a properties file, with the test JVM's engine settings and 1 GiB heap. */
    public static Process trainer(Path properties, Path log) throws IOException {
        List<String> options = new ArrayList<>(ENGINE);
        options.add("-Xmx1g");
        return start(options, TrainerMain.class, List.of(properties.toString()), log);
    }
}
