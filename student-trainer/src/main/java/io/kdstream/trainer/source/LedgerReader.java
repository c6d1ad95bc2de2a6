package io.kdstream.trainer.source;

import io.kdstream.core.KdException;
import io.kdstream.core.kafka.FailureDisposition;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Replays an online run: for every ledger entry, reads exactly the offset segments of that step, in order, and cuts
 * them into the same batch (bad records inside a segment are skipped, as they were in the run).
 */
public final class LedgerReader extends PrefetchingSource {
    private static final Duration POLL = Duration.ofMillis(100);
    private static final long SEGMENT_TIMEOUT_MS = 60_000;
    /**
     * Settings for the consumer a ledger replay reads with: every segment is already in the log, so a fetch never has
     * to wait for data; with the default 500 ms long poll, a fetch left waiting at a partition's end holds up the
     * switch to the next segment's partition.
     */
    public static final Map<String, Object> CONSUMER_OVERRIDES = Map.of(
            org.apache.kafka.clients.consumer.ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 10);

    private final String topic;
    private final List<List<Batch.Segment>> ledger;
    private final int inputSize;
    private final int classes;
    private final RecordDecoder decoder;

    public LedgerReader(Supplier<Consumer<byte[], byte[]>> consumerFactory, String topic, List<List<Batch.Segment>> ledger,
                        int inputSize, int classes, RecordDecoder decoder, int prefetchBatches) {
        super(consumerFactory, prefetchBatches, "kd-trainer-ledger", "Replaying the ledger");
        this.topic = topic;
        this.ledger = List.copyOf(ledger);
        this.inputSize = inputSize;
        this.classes = classes;
        this.decoder = decoder;
    }

    @Override
    void read(Consumer<byte[], byte[]> consumer) throws InterruptedException {
        Map<Integer, Long> positions = new TreeMap<>();
        long step = 0;
        for (List<Batch.Segment> entry : ledger) {
            if (isClosed()) {
                return;
            }
            List<Example> examples = new ArrayList<>();
            int failures = 0;
            for (Batch.Segment s : entry) {
                for (ConsumerRecord<byte[], byte[]> r : read(consumer, s)) {
                    try {
                        Example e = decoder.decode(r);
                        if (!e.skipped()) {
                            examples.add(e);
                        }
                    } catch (RuntimeException e) {
                        if (FailureDisposition.of(e) != FailureDisposition.DEAD_LETTER) {
                            throw e;
                        }
                        failures++;
                    }
                }
                positions.put(s.partition(), s.end());
            }
            step++;
            if (examples.isEmpty()) {
                throw new KdException("Ledger step " + step + " " + entry + " holds no valid record");
            }
            emit(BatchAssembler.assemble(topic, 0, examples, inputSize, classes, new Cursor(0, step, positions, 0, 0),
                    positions, failures, 0, entry));
        }
    }

    private List<ConsumerRecord<byte[], byte[]>> read(Consumer<byte[], byte[]> consumer, Batch.Segment s) {
        TopicPartition tp = new TopicPartition(topic, s.partition());
        if (!consumer.assignment().equals(java.util.Set.of(tp))) {
            consumer.assign(List.of(tp));
            consumer.seek(tp, s.start());
        } else if (consumer.position(tp) != s.start()) {
            consumer.seek(tp, s.start());
        } // else: the segment continues the previous one, and what was fetched for it is still buffered
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        long deadline = System.currentTimeMillis() + SEGMENT_TIMEOUT_MS;
        while (consumer.position(tp) < s.end()) {
            if (System.currentTimeMillis() > deadline) {
                throw new KdException("Timed out reading " + topic + " " + s + " for the ledger replay");
            }
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
                if (r.offset() >= s.start() && r.offset() < s.end()) {
                    out.add(r);
                }
            }
        }
        return out;
    }
}
