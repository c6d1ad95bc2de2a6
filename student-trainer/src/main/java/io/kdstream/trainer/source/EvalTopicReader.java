package io.kdstream.trainer.source;

import io.kdstream.avro.InputRecord;
import io.kdstream.core.KdException;
import io.kdstream.core.djl.TensorBridge;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.core.zoo.Architecture;
import io.kdstream.trainer.TrainerConfig;

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
    public static EvalTopicReader read(TrainerConfig config, String topic, Architecture student, Deserializer<InputRecord> deserializer,
                                       int limit) {
        int size = student.inputSize();
        int classes = student.numClasses();
        List<Integer> shape = student.inputShape();
        float[] buffer = new float[Math.multiplyExact(Math.min(limit, 1024), size)];
        List<Integer> labels = new ArrayList<>();
        long undecodable = 0;
        long wrongShape = 0;
        long unlabelled = 0;
        long badLabel = 0;
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500,
                // a misspelt topic must not be created by looking for it
                ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false))) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
            if (infos == null || infos.isEmpty()) {
                throw new KdException("Evaluation topic " + topic + " (" + TrainerConfig.EVAL_TOPIC_CONFIG + ") does not exist");
            }
            List<TopicPartition> tps = infos.stream().map(i -> new TopicPartition(topic, i.partition()))
                    .sorted(Comparator.comparingInt(TopicPartition::partition)).toList();
            Map<TopicPartition, Long> end = consumer.endOffsets(tps, Duration.ofSeconds(30));
            long deadline = System.currentTimeMillis() + TIMEOUT_MS;
            // one partition at a time, so the records kept under the limit do not depend on fetch timing
            for (TopicPartition tp : tps) {
                consumer.assign(List.of(tp));
                consumer.seekToBeginning(List.of(tp));
                while (labels.size() < limit && consumer.position(tp) < end.get(tp)) {
                    if (System.currentTimeMillis() > deadline) {
                        throw new KdException("Timed out reading evaluation topic " + topic + " to its end offsets " + end);
                    }
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
                        if (labels.size() >= limit || r.offset() >= end.get(tp)) {
                            break;
                        }
                        InputRecord in;
                        try {
                            in = r.value() == null ? null : deserializer.deserialize(r.topic(), r.headers(), r.value());
                        } catch (RuntimeException e) {
                            in = null;
                        }
                        if (in == null) {
                            undecodable++;
                            continue;
                        }
                        if (in.getInput() == null || !InputRecordDecoder.fits(in.getInput().getShape(), shape)) {
                            wrongShape++;
                            continue;
                        }
                        if (in.getLabel() == null) {
                            unlabelled++;
                            continue;
                        }
                        if (in.getLabel() < 0 || in.getLabel() >= classes) {
                            badLabel++;
                            continue;
                        }
                        int at = labels.size() * size;
                        if (at + size > buffer.length) {
                            buffer = Arrays.copyOf(buffer, Math.multiplyExact(Math.min(limit, labels.size() * 2), size));
                        }
                        try {
                            TensorBridge.toModelInput("input", in.getInput(), size, buffer, at);
                        } catch (RuntimeException e) {
                            wrongShape++;
                            continue;
                        }
                        if (!finite(buffer, at, size)) {
                            wrongShape++;
                            continue;
                        }
                        labels.add(in.getLabel());
                    }
                }
            }
        }
        int n = labels.size();
        EvalTopicReader out = new EvalTopicReader(Arrays.copyOf(buffer, n * size), labels.stream().mapToInt(Integer::intValue).toArray(),
                undecodable, wrongShape, unlabelled, badLabel);
        long skipped = undecodable + wrongShape + unlabelled + badLabel;
        if (skipped > 0) {
            LOGGER.warn("Evaluation topic {}: skipped {} record(s): {} undecodable, {} not of shape {} (or not finite), {} "
                    + "unlabelled, {} with a label outside [0, {})", topic, skipped, undecodable, wrongShape, shape, unlabelled,
                    badLabel, classes);
        }
        LOGGER.info("Evaluating on {} labelled records of topic {} (limit {})", n, topic, limit);
        return out;
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
