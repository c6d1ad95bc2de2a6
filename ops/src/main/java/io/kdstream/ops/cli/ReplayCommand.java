package io.kdstream.ops.cli;

import io.kdstream.avro.RunManifest;
import io.kdstream.core.config.KdConfig;
import io.kdstream.trainer.Replay;
import io.kdstream.trainer.RunManifests;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code kdstream replay}: re-train a finished run from its manifest and compare the model hashes. */
@Command(name = "replay", mixinStandardHelpOptions = true,
        description = "Re-train a finished run from its manifest (same settings, seed and offset ranges) and compare the "
                + "final model sha256 with the manifest's. Exits " + ReplayCommand.EXIT_MISMATCH + " when they differ.")
public final class ReplayCommand implements Callable<Integer> {

    /** Exit code when the replayed model differs from the original. */
    public static final int EXIT_MISMATCH = 4;

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connection;

    @Option(names = "--run", paramLabel = "ID", description = "Run id; its manifest is read from the runs topic.")
    String runId;

    @Option(names = "--manifest", paramLabel = "FILE", description = "Read the manifest from this file instead "
            + "(the manifest.json next to a run's model).")
    Path manifestFile;

    @Option(names = "--dir", paramLabel = "DIR", description = "Empty directory for the replay's checkpoint and model "
            + "(default: a new temporary directory).")
    Path dir;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if ((runId == null) == (manifestFile == null)) {
            throw new IllegalArgumentException("give exactly one of --run ID or --manifest FILE");
        }
        KdConfig config = KdConfig.fromProperties(connection.properties());
        RunManifest manifest = manifestFile != null ? RunManifests.read(manifestFile) : Replay.findManifest(config, runId);
        Path runDir = dir != null ? dir : Files.createTempDirectory("kdstream-replay-");
        Replay.Outcome outcome = Replay.run(manifest, connection.properties(), runDir);
        out.println("run-id: " + manifest.getRunId());
        out.println("expected-sha256: " + manifest.getFinalModelSha256());
        out.println("model-sha256: " + outcome.result().modelSha256());
        out.println(outcome.matches() ? "replay matches" : "replay DIFFERS from the original run");
        out.flush();
        return outcome.matches() ? 0 : EXIT_MISMATCH;
    }
}
