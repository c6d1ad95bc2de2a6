package io.kdstream.ops.cli;

import io.kdstream.avro.InputRecord;
import io.kdstream.core.KdException;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.data.LabelSelection;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.ops.ingest.FashionMnistIngest;
import io.kdstream.ops.ingest.IngestResult;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;

import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code kdstream ingest ...}: publish a dataset to the inputs topic. */
@Command(name = "ingest", description = "Publish a dataset to the inputs topic as InputRecords.",
        mixinStandardHelpOptions = true, subcommands = {IngestCommand.FashionMnistCommand.class, NpyIngestCommand.class,
            ImagesIngestCommand.class})
public final class IngestCommand {

    /** Which splits to publish. */
    enum SplitChoice {
        TRAIN, TEST, ALL;

        List<FashionMnist.Split> splits() {
            return switch (this) {
                case TRAIN -> List.of(FashionMnist.Split.TRAIN);
                case TEST -> List.of(FashionMnist.Split.TEST);
                case ALL -> List.of(FashionMnist.Split.TRAIN, FashionMnist.Split.TEST);
            };
        }
    }

    /** Producer settings for bulk ingest on top of the idempotent defaults: bigger batches, compressed. */
    static Map<String, Object> producerOverrides() {
        return Map.of(
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024,
                ProducerConfig.LINGER_MS_CONFIG, 10,
                ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    }

    @Command(name = "fashion-mnist", mixinStandardHelpOptions = true,
            description = {"Publish Fashion-MNIST (28x28 grey images, 10 classes) to the inputs topic: one InputRecord "
                    + "per image, keyed by its id (fmnist-train-00042), with an idempotent producer.",
                "Needs the four IDX files: 'apt-get install dataset-fashion-mnist', or --data DIR."})
    static final class FashionMnistCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ConnectionOptions connection;

        @Option(names = "--split", defaultValue = "all", paramLabel = "train|test|all",
                description = "Which split to publish (default: ${DEFAULT-VALUE}).")
        SplitChoice split;

        @Option(names = "--limit", defaultValue = "0", paramLabel = "N",
                description = "Publish only the first N images of each split; 0 = all (default: ${DEFAULT-VALUE}).")
        int limit;

        @Option(names = "--data", paramLabel = "DIR",
                description = "Directory with the IDX files (default: " + "/usr/share/datasets/fashion-mnist" + ").")
        Path data = FashionMnist.DEFAULT_DIR;

        @Option(names = "--topic", paramLabel = "TOPIC",
                description = "Topic to publish to (default: kd.topic.inputs, i.e. kd.inputs).")
        String topic;

        @Option(names = "--label-fraction", defaultValue = "1.0", paramLabel = "F",
                description = "Share of training images published with their label; the others are published without "
                        + "one, as in a production stream (default: ${DEFAULT-VALUE}). Which images keep it is a fixed "
                        + "function of the image id and --label-seed. Test images always keep their label.")
        double labelFraction;

        @Option(names = "--label-seed", defaultValue = "0", paramLabel = "S",
                description = "Seed of the labelled subset chosen by --label-fraction (default: ${DEFAULT-VALUE}).")
        long labelSeed;

        @Option(names = "--progress", defaultValue = "auto", paramLabel = "auto|bar|plain|none",
                description = "How to show progress on stderr (default: ${DEFAULT-VALUE}).")
        String progress;

        @Override
        public Integer call() {
            if (limit < 0) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--limit must be >= 0");
            }
            if (!(labelFraction >= 0 && labelFraction <= 1)) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                        "--label-fraction must be in [0, 1], got " + labelFraction);
            }
            ProgressBar.Mode mode = progressMode(progress);
            FashionMnist.requireDataset(data);
            KdConfig config = connection.config();
            String target = topic != null ? topic : config.topics().inputs();
            requireTopic(config, target);

            PrintWriter out = spec.commandLine().getOut();
            List<IngestResult> results = new ArrayList<>();
            try (Producer<byte[], byte[]> producer = KafkaClients.producer(config, "kdstream-ingest", producerOverrides());
                 KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config.serdeProperties())) {
                FashionMnistIngest ingest = new FashionMnistIngest(producer, serde.serializer(), target)
                        .withLabels(new LabelSelection(labelFraction, labelSeed));
                for (FashionMnist.Split s : split.splits()) {
                    FashionMnist dataset = FashionMnist.load(data, s);
                    int n = limit == 0 ? dataset.size() : Math.min(limit, dataset.size());
                    try (ProgressBar bar = new ProgressBar(dataset.source(), n, System.err, mode)) {
                        results.add(ingest.ingest(dataset, n, bar::step));
                    }
                }
            }
            printSummary(out, results, target, null);
            return 0;
        }
    }

    /**
     * Prints the closing line of an ingest: the count per source, the topic, the time, records/s, MB and the labelled
     * share, then {@code detail} (if any) on a line of its own.
     */
    static void printSummary(PrintWriter out, List<IngestResult> results, String target, String detail) {
        long total = results.stream().mapToLong(IngestResult::records).sum();
        long bytes = results.stream().mapToLong(IngestResult::bytes).sum();
        double seconds = results.stream().mapToDouble(IngestResult::seconds).sum();
        StringBuilder parts = new StringBuilder();
        for (IngestResult r : results) {
            parts.append(parts.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%s %,d", r.source(), r.records()));
        }
        long labelled = results.stream().mapToLong(IngestResult::labelled).sum();
        out.printf(Locale.ROOT, "ingested %,d records (%s) to %s in %.1f s (%,.0f records/s, %.1f MB); %,d labelled, "
                + "%,d unlabelled%n", total, parts, target, seconds, seconds > 0 ? total / seconds : 0.0, bytes / 1e6,
                labelled, total - labelled);
        if (detail != null) {
            out.println(detail);
        }
        out.flush();
    }

    static ProgressBar.Mode progressMode(String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "auto" -> ProgressBar.Mode.auto();
            case "bar" -> ProgressBar.Mode.BAR;
            case "plain" -> ProgressBar.Mode.PLAIN;
            case "none" -> ProgressBar.Mode.NONE;
            default -> throw new IllegalArgumentException("--progress must be auto, bar, plain or none, got '" + value + "'");
        };
    }

    /** Fails with what to do when the topic is missing, instead of a producer timing out a minute later. */
    static void requireTopic(KdConfig config, String topic) {
        try (TopicAdmin admin = new TopicAdmin(KafkaClients.admin(config), Duration.ofSeconds(30), true)) {
            if (!admin.listTopics().contains(topic)) {
                throw new KdException("topic " + topic + " does not exist on " + config.bootstrapServers()
                        + "; create the topics first with 'kdstream topics create'");
            }
        }
    }
}
