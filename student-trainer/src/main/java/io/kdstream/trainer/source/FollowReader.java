package io.kdstream.trainer.source;

import io.kdstream.core.kafka.FailureDisposition;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Online source: follows the topic from the given offsets and cuts batches in arrival order, until closed. A batch
 * that has waited {@code maxWaitMs} for more records goes out partial, so slow streams keep training. Since
 * composition depends on arrival, every batch carries the offset segments it was cut from: the step's ledger entry,
 * which is what a replay follows.
 */
public final class FollowReader extends PrefetchingSource {
    private static final Logger LOGGER = LoggerFactory.getLogger(FollowReader.class);
    private static final Duration POLL = Duration.ofMillis(100);

    private final String topic;
    private final Map<Integer, Long> start;
    private final int batchSize;
    private final long maxWaitMs;
    private final int inputSize;
    private final int classes;
    private final RecordDecoder decoder;
    private final BatchReader.DeadLetters deadLetters;
    private final AtomicReference<Map<Integer, Long>> pendingCommit = new AtomicReference<>();

    public FollowReader(Supplier<Consumer<byte[], byte[]>> consumerFactory, String topic, Map<Integer, Long> start, int batchSize,
                        long maxWaitMs, int inputSize, int classes, RecordDecoder decoder, BatchReader.DeadLetters deadLetters,
                        int prefetchBatches) {
        super(consumerFactory, prefetchBatches, "kd-trainer-follow", "Following teacher outputs");
        this.topic = Objects.requireNonNull(topic, "topic");
        this.start = new TreeMap<>(start);
        this.batchSize = batchSize;
        this.maxWaitMs = maxWaitMs;
        this.inputSize = inputSize;
        this.classes = classes;
        this.decoder = decoder;
        this.deadLetters = deadLetters;
    }

    @Override
    public void requestCommit(Map<Integer, Long> positions) {
        pendingCommit.set(Map.copyOf(positions));
    }

    @Override
    void read(Consumer<byte[], byte[]> consumer) throws InterruptedException {
        List<TopicPartition> tps = start.keySet().stream().map(p -> new TopicPartition(topic, p)).toList();
        consumer.assign(tps);
        start.forEach((p, o) -> consumer.seek(new TopicPartition(topic, p), o));
        Map<Integer, Long> positions = new TreeMap<>(start);
        List<Example> pending = new ArrayList<>(batchSize);
        List<Batch.Segment> segments = new ArrayList<>();
        int failures = 0;
        long decodeNanos = 0;
        long pendingSince = 0;
        long step = 0;
        while (!isClosed()) {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
                positions.put(r.partition(), r.offset() + 1);
                Batch.Segment.append(segments, r.partition(), r.offset());
                long t0 = System.nanoTime();
                Example e = decode(r);
                decodeNanos += System.nanoTime() - t0;
                if (e == null) {
                    failures++;
                    continue;
                }
                if (e.skipped()) {
                    continue;
                }
                if (pending.isEmpty()) {
                    pendingSince = System.currentTimeMillis();
                }
                pending.add(e);
                if (pending.size() == batchSize) {
                    emit(pending, segments, positions, ++step, failures, decodeNanos);
                    pending = new ArrayList<>(batchSize);
                    segments = new ArrayList<>();
                    failures = 0;
                    decodeNanos = 0;
                }
            }
            if (!pending.isEmpty() && System.currentTimeMillis() - pendingSince >= maxWaitMs) {
                emit(pending, segments, positions, ++step, failures, decodeNanos);
                pending = new ArrayList<>(batchSize);
                segments = new ArrayList<>();
                failures = 0;
                decodeNanos = 0;
            }
            Map<Integer, Long> commit = pendingCommit.getAndSet(null);
            if (commit != null) {
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                commit.forEach((p, o) -> offsets.put(new TopicPartition(topic, p), new OffsetAndMetadata(o)));
                try {
                    consumer.commitSync(offsets);
                } catch (RuntimeException e) {
                    LOGGER.warn("Committing trained offsets to the group failed (the checkpoint holds them): {}", e.toString());
                }
            }
        }
    }

    private void emit(List<Example> examples, List<Batch.Segment> segments, Map<Integer, Long> positions, long step, int failures,
                      long decodeNanos) throws InterruptedException {
        Cursor after = new Cursor(0, step, positions, 0, 0);
        emit(BatchAssembler.assemble(topic, 0, examples, inputSize, classes, after, positions, failures, decodeNanos, segments));
    }

    private Example decode(ConsumerRecord<byte[], byte[]> record) {
        try {
            return decoder.decode(record);
        } catch (RuntimeException e) {
            if (FailureDisposition.of(e) == FailureDisposition.DEAD_LETTER) {
                deadLetters.deadLetter(record, e);
                return null;
            }
            throw e;
        }
    }
}
