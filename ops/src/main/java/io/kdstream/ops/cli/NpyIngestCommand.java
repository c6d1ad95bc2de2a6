package io.kdstream.ops.cli;

import io.kdstream.avro.InputRecord;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.ops.ingest.IngestResult;
import io.kdstream.ops.ingest.InputPublisher;
import io.kdstream.ops.ingest.npy.NpyIngest;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;

import org.apache.kafka.clients.producer.Producer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code kdstream ingest npy X.npy [--labels y.npy]}: publish a NumPy array, one record per example. */
@Command(name = "npy", mixinStandardHelpOptions = true,
        description = {"Publish a NumPy .npy array to the inputs topic: the first axis is the example axis; each example "
                + "becomes one InputRecord (id <prefix>-00042) whose tensor has the remaining shape and the file's dtype "
                + "(uint8, float16, float32, int32 or int64, little-endian, C order), with an idempotent producer.",
            "Labels come from an optional 1-D integer array of the same length (--labels). Both files are checked "
                + "(format, size, label count, negative labels) before anything is sent."})
final class NpyIngestCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connection;

    @Mixin
    IngestOptions options;

    @Parameters(index = "0", paramLabel = "FILE.npy", description = "The examples.")
    Path file;

    @Option(names = "--labels", paramLabel = "FILE.npy",
            description = "Class index of every example: a 1-D integer array (uint8/int32/int64, ...) of the same length.")
    Path labels;

    @Option(names = "--id-prefix", paramLabel = "PREFIX",
            description = "Prefix of the record ids, <prefix>-00042 (default: the file name without .npy).")
    String idPrefix;

    @Override
    public Integer call() {
        options.validate(spec.commandLine());
        try (NpyIngest npy = NpyIngest.open(file, labels, options.source, idPrefix)) {
            KdConfig config = connection.config();
            String target = options.topic != null ? options.topic : config.topics().inputs();
            IngestCommand.requireTopic(config, target);
            long n = options.limit == 0 ? npy.exampleCount() : Math.min(options.limit, npy.exampleCount());
            IngestResult result;
            try (Producer<byte[], byte[]> producer = KafkaClients.producer(config, "kdstream-ingest",
                    IngestCommand.producerOverrides());
                 KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config.serdeProperties());
                 ProgressBar bar = new ProgressBar(npy.source(), n, System.err, IngestCommand.progressMode(options.progress))) {
                InputPublisher publisher = new InputPublisher(producer, serde.serializer(), target);
                result = npy.publish(publisher, n, options.labels(), Clock.systemUTC(), bar::step);
            }
            IngestCommand.printSummary(spec.commandLine().getOut(), List.of(result), target,
                    "example shape " + Arrays.toString(npy.exampleShape()) + " " + npy.header().dtype().tensorType());
        }
        return 0;
    }
}
