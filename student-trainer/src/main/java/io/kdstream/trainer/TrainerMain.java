package io.kdstream.trainer;

import io.kdstream.core.config.KdConfigLoader;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Runs one training process from a properties file: {@code java io.kdstream.trainer.TrainerMain run.properties}.
 * Prints {@code run-id: <id>} and {@code model-sha256: <hex>} when the run finishes. A process killed at any point
 * and started again with the same file resumes from its last checkpoint.
 */
public final class TrainerMain {
    private TrainerMain() {
    }

    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: TrainerMain <properties file>");
            System.exit(2);
        }
        io.kdstream.core.djl.EngineThreads.pin();
        Map<String, Object> props = new HashMap<>(KdConfigLoader.readProperties(Path.of(args[0])));
        TrainerConfig config = new TrainerConfig(props);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (Trainer trainer = Trainer.builder().setConfig(config).build()) {
            Trainer.Result result = trainer.run();
            out.println("steps: " + result.steps());
            out.println("run-id: " + result.runId());
            out.println("model-sha256: " + result.modelSha256());
        }
    }
}
