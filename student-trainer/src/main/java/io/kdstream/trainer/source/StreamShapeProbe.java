package io.kdstream.trainer.source;

import io.kdstream.avro.InputRecord;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.core.KdException;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.core.config.KdConfig;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * Finds the input shape (and, for teacher outputs, the class count) of a topic's records: reads the topic from its
 * beginning with {@code read_committed} and takes the first record that decodes and carries an input tensor, skipping
 * (and counting) the others. A bounded run looks up to the end offsets of the moment; an online run
 * ({@code trainer.follow=true}) waits for a first record until it is stopped.
 */
public final class StreamShapeProbe {
    /**
     * How a probe reads: the connection, whether the run follows the topic (then it waits for a first record instead
     * of failing on an empty topic), and what the user can set instead when the topic has no usable record.
     */
    public record Reading(KdConfig config, boolean follow, String instead) {
    }

    private static final Logger LOGGER = LoggerFactory.getLogger(StreamShapeProbe.class);
    private static final Duration POLL = Duration.ofMillis(200);
    private static final long BOUNDED_TIMEOUT_MS = 60_000;
    private static final long WAIT_LOG_MS = 30_000;

    private StreamShapeProbe() {
    }

    /**
     * @param inputRecords whether the topic holds {@code InputRecord}s (else {@code TeacherOutput}s)
     * @param stopped      asked while an online run waits for a first record
     * @throws KdException when the topic holds no usable record (bounded run) or the run was stopped while waiting
     */
    public static StreamShape probe(Reading reading, String topic, boolean inputRecords, BooleanSupplier stopped) {
        Map<String, Object> serde = reading.config().serdeProperties();
        Deserializer<TeacherOutput> outputs = KdAvroSerdes.value(TeacherOutput.class, serde).deserializer();
        Deserializer<InputRecord> inputs = KdAvroSerdes.value(InputRecord.class, serde).deserializer();
        return first(reading, topic, stopped, r -> shapeOf(r, inputRecords ? inputs : null, inputRecords ? null : outputs),
                "detect the student's input shape", "a decodable input");
    }

    /** Where the teacher outputs of a topic keep their feature maps, as its first decodable output tells. */
    public enum FeatureSupply {
        /** In each output. */
        INLINE,
        /** On the companion features topic, named by each output. */
        COMPANION,
        /** Nowhere: the teacher published none. */
        NONE
    }

    /**
     * Where the first decodable teacher output of {@code topic} keeps its feature maps, so that a run that distils
     * features can refuse to start on a stream without them.
     *
     * @throws KdException as {@link #probe}
     */
    public static FeatureSupply featureSupply(Reading reading, String topic, BooleanSupplier stopped) {
        Deserializer<TeacherOutput> outputs = KdAvroSerdes.value(TeacherOutput.class, reading.config().serdeProperties())
                .deserializer();
        return first(reading, topic, stopped, r -> {
            try {
                TeacherOutput out = r.value() == null ? null : outputs.deserialize(r.topic(), r.headers(), r.value());
                if (out == null) {
                    return null;
                }
                return !out.getFeatures().isEmpty() ? FeatureSupply.INLINE
                        : out.getFeaturesRef() != null ? FeatureSupply.COMPANION : FeatureSupply.NONE;
            } catch (RuntimeException e) {
                return null;
            }
        }, "check its feature maps", "a decodable teacher output");
    }

    private static <T> T first(Reading reading, String topic, BooleanSupplier stopped,
                               Function<ConsumerRecord<byte[], byte[]>, T> look, String purpose, String wanted) {
        long skipped = 0;
        String instead = reading.instead();
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(reading.config(), null, Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 100,
                ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false))) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
            if (infos == null || infos.isEmpty()) {
                throw new KdException("Topic " + topic + " does not exist: cannot " + purpose + " from it; create it, or "
                        + instead);
            }
            List<TopicPartition> tps = infos.stream().map(i -> new TopicPartition(topic, i.partition()))
                    .sorted(Comparator.comparingInt(TopicPartition::partition)).toList();
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps, Duration.ofSeconds(30));
            long start = System.currentTimeMillis();
            long nextLog = start + WAIT_LOG_MS;
            while (true) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
                    T found = look.apply(r);
                    if (found != null) {
                        if (skipped > 0) {
                            LOGGER.info("To {} on {}, passed over {} record(s) without {}", purpose, topic, skipped, wanted);
                        }
                        return found;
                    }
                    skipped++;
                }
                boolean atEnd = tps.stream().allMatch(tp -> consumer.position(tp) >= end.get(tp));
                long now = System.currentTimeMillis();
                if (!reading.follow() && (atEnd || now - start > BOUNDED_TIMEOUT_MS)) {
                    throw new KdException("Topic " + topic + " holds no record with " + wanted + " (" + skipped
                            + " passed over) to " + purpose + " from; " + instead);
                }
                if (stopped.getAsBoolean()) {
                    throw new KdException("Stopped while waiting for a first record of " + topic + " to " + purpose);
                }
                if (now > nextLog) {
                    LOGGER.info("Waiting for a first record of {} to {} ({} to skip this)", topic, purpose, instead);
                    nextLog = now + WAIT_LOG_MS;
                }
            }
        }
    }

    /** The shape a record tells, or null when it does not decode or carries no input. */
    private static StreamShape shapeOf(ConsumerRecord<byte[], byte[]> r, Deserializer<InputRecord> inputs,
                                       Deserializer<TeacherOutput> outputs) {
        if (r.value() == null) {
            return null;
        }
        String where = r.topic() + "-" + r.partition() + "@" + r.offset();
        try {
            if (inputs != null) {
                InputRecord in = inputs.deserialize(r.topic(), r.headers(), r.value());
                return in == null || in.getInput() == null ? null
                        : new StreamShape(in.getInput().getShape(), OptionalInt.empty(), where);
            }
            TeacherOutput out = outputs.deserialize(r.topic(), r.headers(), r.value());
            if (out == null || out.getInput() == null) {
                return null;
            }
            OptionalInt classes = out.getLogits() == null || out.getLogits().getNumClasses() < 1 ? OptionalInt.empty()
                    : OptionalInt.of(out.getLogits().getNumClasses());
            return new StreamShape(out.getInput().getShape(), classes, where);
        } catch (RuntimeException e) {
            LOGGER.debug("Shape detection: {} does not decode: {}", where, e.toString());
            return null;
        }
    }
}
