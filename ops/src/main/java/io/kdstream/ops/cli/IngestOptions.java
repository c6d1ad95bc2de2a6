package io.kdstream.ops.cli;

import io.kdstream.core.data.LabelSelection;

import picocli.CommandLine.Option;

/** Options every {@code kdstream ingest} of the user's own data shares. */
public final class IngestOptions {

    @Option(names = "--topic", paramLabel = "TOPIC",
            description = "Topic to publish to (default: kd.topic.inputs, i.e. kd.inputs).")
    String topic;

    @Option(names = "--source", paramLabel = "NAME",
            description = "The records' source field (default: npy/<file stem> or images/<folder name>).")
    String source;

    @Option(names = "--limit", defaultValue = "0", paramLabel = "N",
            description = "Publish only the first N examples; 0 = all (default: ${DEFAULT-VALUE}).")
    long limit;

    @Option(names = "--label-fraction", defaultValue = "1.0", paramLabel = "F",
            description = "Share of examples published with their label; the others are published without one, as in a "
                    + "production stream (default: ${DEFAULT-VALUE}). Which examples keep it is a fixed function of the "
                    + "record id and --label-seed.")
    double labelFraction;

    @Option(names = "--label-seed", defaultValue = "0", paramLabel = "S",
            description = "Seed of the labelled subset chosen by --label-fraction (default: ${DEFAULT-VALUE}).")
    long labelSeed;

    @Option(names = "--progress", defaultValue = "auto", paramLabel = "auto|bar|plain|none",
            description = "How to show progress on stderr (default: ${DEFAULT-VALUE}).")
    String progress;

    /** Checks the values; the message names the option. */
    void validate(picocli.CommandLine commandLine) {
        if (limit < 0) {
            throw new picocli.CommandLine.ParameterException(commandLine, "--limit must be >= 0");
        }
        if (!(labelFraction >= 0 && labelFraction <= 1)) {
            throw new picocli.CommandLine.ParameterException(commandLine,
                    "--label-fraction must be in [0, 1], got " + labelFraction);
        }
        try {
            IngestCommand.progressMode(progress);
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(commandLine, e.getMessage());
        }
    }

    LabelSelection labels() {
        return new LabelSelection(labelFraction, labelSeed);
    }
}
