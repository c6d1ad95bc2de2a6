package io.kdstream.ops.cli;

import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.InputRecord;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.DeadLetterPublisher;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.ops.ingest.IngestResult;
import io.kdstream.ops.ingest.InputPublisher;
import io.kdstream.ops.ingest.images.ImageFolder;
import io.kdstream.ops.ingest.images.ImageFolderIngest;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;

import org.apache.kafka.clients.producer.Producer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code kdstream ingest images DIR}: publish an image folder, one sub-folder per class. */
@Command(name = "images", mixinStandardHelpOptions = true,
        description = {"Publish an image folder to the inputs topic: one sub-folder per class (sorted names give the "
                + "class indices 0..n-1, or --classes FILE), PNG/JPEG files below it; each image becomes one InputRecord "
                + "(id: its relative path) holding a UINT8 [C, H, W] tensor, with an idempotent producer.",
            "Colour images give 3 channels (alpha dropped); a folder of grey images gives 1 (see --channels). Without "
                + "--resize every image must have the size of the first. Unreadable images are skipped, listed and "
                + "dead-lettered; the class names are written to DIR/classes.txt."})
final class ImagesIngestCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connection;

    @Mixin
    IngestOptions options;

    @Parameters(index = "0", paramLabel = "DIR", description = "The folder: DIR/<class>/<image>.png|jpg.")
    Path dir;

    @Option(names = "--resize", paramLabel = "HxW", description = "Resize every image to H rows by W columns.")
    String resize;

    @Option(names = "--classes", paramLabel = "FILE",
            description = "Class names, one per line in index order; fixes the name-to-index mapping (it must name "
                    + "every sub-folder). Default: the sub-folders in name order, written to DIR/classes.txt.")
    Path classes;

    @Option(names = "--channels", defaultValue = "auto", paramLabel = "auto|1|3",
            description = "Channels of the tensors: auto = 1 when every image is grey, else 3; 1 = grey (luma of colour "
                    + "images); 3 = RGB (grey replicated) (default: ${DEFAULT-VALUE}).")
    String channels;

    @Option(names = "--order", defaultValue = "shuffled", paramLabel = "shuffled|sorted",
            description = "Publish order: shuffled = a seeded random order across classes (a stream trainer's shuffle "
                    + "buffer then never sees long runs of one class; --limit takes a random subset); sorted = class by "
                    + "class, files in name order (default: ${DEFAULT-VALUE}).")
    String order;

    @Option(names = "--shuffle-seed", defaultValue = "0", paramLabel = "S",
            description = "Seed of the shuffled order (default: ${DEFAULT-VALUE}).")
    long shuffleSeed;

    @Override
    public Integer call() {
        options.validate(spec.commandLine());
        ImageFolderIngest.Size size = parseSize();
        ImageFolderIngest.Channels ch = parseChannels();
        PrintWriter out = spec.commandLine().getOut();
        ImageFolder folder = ImageFolder.scan(dir, classes);
        switch (order.trim().toLowerCase(Locale.ROOT)) {
            case "shuffled" -> folder = folder.shuffled(shuffleSeed);
            case "sorted" -> { }
            default -> throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--order must be shuffled or sorted, got '" + order + "'");
        }
        int limit = (int) Math.min(Integer.MAX_VALUE, options.limit);
        ImageFolderIngest ingest = ImageFolderIngest.prepare(folder, options.source, size, ch, limit);
        KdConfig config = connection.config();
        String target = options.topic != null ? options.topic : config.topics().inputs();
        IngestCommand.requireTopic(config, target);
        boolean dlqExists = topicExists(config, config.topics().dlq());
        IngestResult result;
        try (Producer<byte[], byte[]> producer = KafkaClients.producer(config, "kdstream-ingest",
                IngestCommand.producerOverrides());
             KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config.serdeProperties());
             KdAvroSerde<FailureEvent> failures = KdAvroSerdes.value(FailureEvent.class, config.serdeProperties());
             ProgressBar bar = new ProgressBar(ingest.source(), ingest.candidates(), System.err,
                     IngestCommand.progressMode(options.progress))) {
            DeadLetterPublisher deadLetters = dlqExists
                    ? new DeadLetterPublisher("ingest", config.topics().dlq(), failures.serializer()) : null;
            result = ingest.publish(new InputPublisher(producer, serde.serializer(), target), deadLetters,
                    options.labels(), Clock.systemUTC(), bar::step);
        }
        IngestCommand.printSummary(out, List.of(result), target, "tensor shape " + ingest.shape() + " UINT8, "
                + folder.classes().size() + " classes");
        printClasses(out, folder);
        printSkipped(out, ingest, dlqExists ? config.topics().dlq() : null);
        out.flush();
        return 0;
    }

    private ImageFolderIngest.Size parseSize() {
        try {
            return resize == null ? null : ImageFolderIngest.Size.parse(resize);
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--resize: " + e.getMessage());
        }
    }

    private ImageFolderIngest.Channels parseChannels() {
        return switch (channels.trim().toLowerCase(Locale.ROOT)) {
            case "auto" -> ImageFolderIngest.Channels.AUTO;
            case "1" -> ImageFolderIngest.Channels.ONE;
            case "3" -> ImageFolderIngest.Channels.THREE;
            default -> throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--channels must be auto, 1 or 3, got '" + channels + "'");
        };
    }

    private void printClasses(PrintWriter out, ImageFolder folder) {
        if (classes != null) {
            out.printf(Locale.ROOT, "classes: %d, mapping from %s%n", folder.classes().size(), classes);
            return;
        }
        Path file = dir.resolve(ImageFolder.CLASSES_FILE);
        try {
            folder.writeClasses(file);
            out.printf(Locale.ROOT, "classes: %d, names in index order written to %s (pass it as --classes to keep "
                    + "the mapping when folders are added)%n", folder.classes().size(), file);
        } catch (IOException e) {
            out.printf(Locale.ROOT, "classes: %d (could not write %s: %s), in index order: %s%n", folder.classes().size(),
                    file, e.getMessage(), String.join(", ", folder.classes()));
        }
    }

    private static void printSkipped(PrintWriter out, ImageFolderIngest ingest, String dlq) {
        List<ImageFolderIngest.Skipped> skipped = ingest.skipped();
        if (skipped.isEmpty()) {
            return;
        }
        out.printf(Locale.ROOT, "skipped %,d unreadable image(s)%s:%n", skipped.size(),
                dlq != null ? " (dead-lettered to " + dlq + ")" : " (no dead-letter topic; not dead-lettered)");
        for (ImageFolderIngest.Skipped s : skipped) {
            out.printf(Locale.ROOT, "  %s: %s%n", s.relativePath(), s.reason());
        }
    }

    private static boolean topicExists(KdConfig config, String topic) {
        try (TopicAdmin admin = new TopicAdmin(KafkaClients.admin(config), Duration.ofSeconds(30), true)) {
            return admin.listTopics().contains(topic);
        }
    }
}
