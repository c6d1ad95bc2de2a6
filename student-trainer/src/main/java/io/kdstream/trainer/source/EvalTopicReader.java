package io.kdstream.trainer.source;

import io.kdstream.avro.InputRecord;
import io.kdstream.core.KdException;
import io.kdstream.core.djl.TensorBridge;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.core.zoo.Architecture;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Reads a held-out set from a topic of labelled {@code InputRecord}s ({@code trainer.eval.topic}): every partition in
 * order, with {@code read_committed}, up to the end offsets of the moment it starts, keeping the first {@code limit}
 * usable records. Inputs are converted as training inputs are ({@link TensorBridge#toModelInput}: UINT8 / 255, floats
 * as they are). Records that do not decode, carry no input, have another shape than the student's input, carry no
 * label or a label outside the student's classes are skipped and counted, and summed up in one log line.
 *
 * @param inputs      {@code n × inputSize} model inputs
 * @param labels      the {@code n} labels
 * @param undecodable records that did not decode as an InputRecord (or had no value)
 * @param wrongShape  records whose input does not fit the student (shape or dtype), or is not finite
 * @param unlabelled  records without a label
 * @param badLabel    records whose label is outside the student's classes
 */
public record EvalTopicReader(float[] inputs, int[] labels, long undecodable, long wrongShape, long unlabelled, long badLabel) {
    private static final Logger LOGGER = LoggerFactory.getLogger(EvalTopicReader.class);
    private static final Duration POLL = Duration.ofMillis(200);
    private static final long TIMEOUT_MS = 120_000;

    /** Examples kept. */
    public int size() {
        return labels.length;
    }

    /**
     * @param limit most records kept
     * @throws KdException when the topic does not exist or cannot be read to its end within two minutes
     */
    public static EvalTopicReader read(KdConfig config, String topic, String setting, Architecture student,
                                       Deserializer<InputRecord> deserializer, int limit) {
        Collector kept = new Collector(student, deserializer, limit);
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500,
                // a misspelt topic must not be created by looking for it
                ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false))) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
            if (infos == null || infos.isEmpty()) {
                throw new KdException("Evaluation topic " + topic + " (" + setting + ") does not exist");
            }
            List<TopicPartition> tps = infos.stream().map(i -> new TopicPartition(topic, i.partition()))
                    .sorted(Comparator.comparingInt(TopicPartition::partition)).toList();
            Map<TopicPartition, Long> end = consumer.endOffsets(tps, Duration.ofSeconds(30));
            long deadline = System.currentTimeMillis() + TIMEOUT_MS;
            // one partition at a time, so the records kept under the limit do not depend on fetch timing
            for (TopicPartition tp : tps) {
                consumer.assign(List.of(tp));
                consumer.seekToBeginning(List.of(tp));
                while (!kept.full() && consumer.position(tp) < end.get(tp)) {
                    if (System.currentTimeMillis() > deadline) {
                        throw new KdException("Timed out reading evaluation topic " + topic + " to its end offsets " + end);
                    }
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
                        if (kept.full() || r.offset() >= end.get(tp)) {
                            break;
                        }
                        kept.offer(r);
                    }
                }
            }
        }
        EvalTopicReader out = kept.result();
        long skipped = out.undecodable() + out.wrongShape() + out.unlabelled() + out.badLabel();
        if (skipped > 0) {
            LOGGER.warn("Evaluation topic {}: skipped {} record(s): {} undecodable, {} not of shape {} (or not finite), {} "
                    + "unlabelled, {} with a label outside [0, {})", topic, skipped, out.undecodable(), out.wrongShape(),
                    student.inputShape(), out.unlabelled(), out.badLabel(), student.numClasses());
        }
        LOGGER.info("Evaluating on {} labelled records of topic {} (limit {})", out.size(), topic, limit);
        return out;
    }

    /** The labelled examples kept so far, and the counts of the records passed over, by reason. */
    private static final class Collector {
        private final Deserializer<InputRecord> deserializer;
        private final int limit;
        private final int size;
        private final int classes;
        private final List<Integer> shape;
        private float[] buffer;
        private final List<Integer> labels = new ArrayList<>();
        private long undecodable;
        private long wrongShape;
        private long unlabelled;
        private long badLabel;

        Collector(Architecture student, Deserializer<InputRecord> deserializer, int limit) {
            this.deserializer = deserializer;
            this.limit = limit;
            this.size = student.inputSize();
            this.classes = student.numClasses();
            this.shape = student.inputShape();
            this.buffer = new float[Math.multiplyExact(Math.min(limit, 1024), size)];
        }

        boolean full() {
            return labels.size() >= limit;
        }

        void offer(ConsumerRecord<byte[], byte[]> r) {
            InputRecord in;
            try {
                in = r.value() == null ? null : deserializer.deserialize(r.topic(), r.headers(), r.value());
            } catch (RuntimeException e) {
                in = null;
            }
            if (in == null) {
                undecodable++;
            } else if (in.getInput() == null || !InputRecordDecoder.fits(in.getInput().getShape(), shape)) {
                wrongShape++;
            } else if (in.getLabel() == null) {
                unlabelled++;
            } else if (in.getLabel() < 0 || in.getLabel() >= classes) {
                badLabel++;
            } else if (copyInput(in)) {
                labels.add(in.getLabel());
            } else {
                wrongShape++;
            }
        }

        /** Copies the record's input after the kept ones; false when it cannot be converted or is not finite. */
        private boolean copyInput(InputRecord in) {
            int at = labels.size() * size;
            if (at + size > buffer.length) {
                buffer = Arrays.copyOf(buffer, Math.multiplyExact(Math.min(limit, labels.size() * 2), size));
            }
            try {
                TensorBridge.toModelInput("input", in.getInput(), size, buffer, at);
            } catch (RuntimeException e) {
                return false;
            }
            return finite(buffer, at, size);
        }

        EvalTopicReader result() {
            int n = labels.size();
            return new EvalTopicReader(Arrays.copyOf(buffer, n * size), labels.stream().mapToInt(Integer::intValue).toArray(),
                    undecodable, wrongShape, unlabelled, badLabel);
        }
    }

    private static boolean finite(float[] values, int from, int n) {
        for (int i = from; i < from + n; i++) {
            if (!Float.isFinite(values[i])) {
                return false;
            }
        }
        return true;
    }
}
