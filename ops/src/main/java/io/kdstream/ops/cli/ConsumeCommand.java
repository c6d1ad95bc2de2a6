package io.kdstream.ops.cli;

import io.kdstream.core.KdException;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.ops.consume.RecordJsonFormatter;
import io.kdstream.ops.consume.WireFormatDecoder;
import io.kdstream.schemas.registry.SchemaRegistryClient;
import io.kdstream.schemas.registry.SchemaRegistryClients;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code kdstream consume TOPIC}: prints records as JSON lines (see {@link RecordJsonFormatter}). Reads committed data
 * only, from every partition, without a consumer group. Records that do not decode are printed as error lines.
 */
@Command(name = "consume", mixinStandardHelpOptions = true,
        description = {"Print the records of a topic as JSON lines (for debugging): key, partition, offset and the Avro "
                + "value, with tensors and bytes summarised.",
            "Reads committed records only. Undecodable records are printed as {\"error\": ...} lines."})
public final class ConsumeCommand implements java.util.concurrent.Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connection;

    @Parameters(index = "0", paramLabel = "TOPIC", description = "Topic to read.")
    String topic;

    @Option(names = "--max", paramLabel = "N", description = "Stop after N records.")
    Long max;

    @Option(names = "--from-beginning", description = "Start at the earliest offset instead of the end.")
    boolean fromBeginning;

    @Option(names = "--timeout-ms", paramLabel = "MS",
            description = "Stop when no record arrives for MS milliseconds (default: run until interrupted).")
    Long timeoutMs;

    @Option(names = "--full", description = "Print every tensor element and byte instead of a summary.")
    boolean full;

    @Override
    public Integer call() {
        if (max != null && max < 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--max must be >= 0");
        }
        if (timeoutMs != null && timeoutMs < 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--timeout-ms must be >= 0");
        }
        KdConfig config = connection.config();
        PrintWriter out = spec.commandLine().getOut();
        RecordJsonFormatter formatter = new RecordJsonFormatter(full);
        CountDownLatch finished = new CountDownLatch(1);
        try (SchemaRegistryClient registry = SchemaRegistryClients.create(config.schemaRegistryUrl(), config.serdeProperties());
             Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of(
                     ConsumerConfig.CLIENT_ID_CONFIG, "kdstream-consume",
                     ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"))) {
            Thread hook = new Thread(() -> {
                consumer.wakeup();
                awaitQuietly(finished);
            }, "kdstream-consume-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            try {
                long printed = run(consumer, new WireFormatDecoder(registry), formatter, out);
                spec.commandLine().getErr().printf("%,d record(s) from %s%n", printed, topic);
                spec.commandLine().getErr().flush();
            } catch (WakeupException e) {
                // interrupted by Ctrl-C: what was read has been printed
            } finally {
                finished.countDown();
                removeHook(hook);
            }
        }
        return 0;
    }

    private long run(Consumer<byte[], byte[]> consumer, WireFormatDecoder decoder, RecordJsonFormatter formatter,
                     PrintWriter out) {
        List<PartitionInfo> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30));
        if (partitions == null || partitions.isEmpty()) {
            throw new KdException("topic " + topic + " does not exist (create it with 'kdstream topics create')");
        }
        List<TopicPartition> assigned = partitions.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
        consumer.assign(assigned);
        if (fromBeginning) {
            consumer.seekToBeginning(assigned);
        } else {
            consumer.seekToEnd(assigned);
        }
        long printed = 0;
        long lastRecordNanos = System.nanoTime();
        while (max == null || printed < max) {
            ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
            if (records.isEmpty()) {
                if (timeoutMs != null && System.nanoTime() - lastRecordNanos >= TimeUnit.MILLISECONDS.toNanos(timeoutMs)) {
                    break;
                }
                continue;
            }
            lastRecordNanos = System.nanoTime();
            for (ConsumerRecord<byte[], byte[]> record : records) {
                out.println(render(record, decoder, formatter));
                printed++;
                if (max != null && printed >= max) {
                    break;
                }
            }
            out.flush();
        }
        out.flush();
        return printed;
    }

    static String render(ConsumerRecord<byte[], byte[]> record, WireFormatDecoder decoder, RecordJsonFormatter formatter) {
        if (record.value() == null) {
            return formatter.format(record, null, null);
        }
        try {
            WireFormatDecoder.Decoded decoded = decoder.decode(record.value());
            return formatter.format(record, decoded.schemaId(), decoded.value());
        } catch (WireFormatDecoder.UndecodableValueException e) {
            return formatter.formatError(record, e.getMessage());
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down; the hook is running
        }
    }
}
