package io.kdstream.trainer.source;

import io.kdstream.avro.PartitionRange;
import io.kdstream.core.kafka.FailureDisposition;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Reads a bounded set of offset ranges on its own thread, decodes and batches the records, and hands batches to the
 * training thread through a bounded queue, so Kafka and Avro never stall a training step.
 *
 * <p>The batch sequence is a pure function of (ranges, seed, batch size, block size, epochs): partitions are
 * interleaved round-robin by offset (never by arrival), consecutive blocks of valid examples are permuted with a
 * generator seeded by (seed, epoch, block), and batches are cut from each permuted block. A {@link Cursor} names any
 * point of the sequence so a restarted run continues exactly where its checkpoint left off.
 */
public final class BatchReader extends PrefetchingSource {
    private static final Logger LOGGER = LoggerFactory.getLogger(BatchReader.class);
    private static final Duration POLL = Duration.ofMillis(100);
    private static final int PAUSE_ABOVE = 4096;
    private static final int MAX_RETRIES = 10;

    /** Where the reader sends a record it cannot train on. */
    @FunctionalInterface
    public interface DeadLetters {
        void deadLetter(ConsumerRecord<byte[], byte[]> record, Throwable cause);
    }

    private final String topic;
    private final List<Integer> partitions;
    private final Map<Integer, Long> starts = new TreeMap<>();
    private final Map<Integer, Long> ends = new TreeMap<>();
    private final Cursor from;
    private final int epochs;
    private final long seed;
    private final int batchSize;
    private final int blockSize;
    private final int inputSize;
    private final int classes;
    private final RecordDecoder decoder;
    private final DeadLetters deadLetters;
    private final AtomicReference<Map<Integer, Long>> pendingCommit = new AtomicReference<>();
    private int failuresSinceBatch;
    private Batch endMarker;

    public BatchReader(Supplier<Consumer<byte[], byte[]>> consumerFactory, List<PartitionRange> ranges, Cursor from, int epochs,
                       long seed, int batchSize, int blockSize, int inputSize, int classes, RecordDecoder decoder,
                       DeadLetters deadLetters, int prefetchBatches) {
        super(consumerFactory, prefetchBatches, "kd-trainer-reader", "Reading teacher outputs");
        if (ranges.isEmpty()) {
            throw new IllegalArgumentException("no offset ranges to read");
        }
        this.topic = ranges.get(0).getTopic();
        for (PartitionRange r : ranges) {
            if (!r.getTopic().equals(topic)) {
                throw new IllegalArgumentException("all ranges must be of one topic");
            }
            starts.put(r.getPartition(), r.getStartOffset());
            ends.put(r.getPartition(), r.getEndOffset());
        }
        this.partitions = List.copyOf(starts.keySet());
        this.from = Objects.requireNonNull(from, "from");
        this.epochs = epochs;
        this.seed = seed;
        this.batchSize = batchSize;
        this.blockSize = blockSize;
        this.inputSize = inputSize;
        this.classes = classes;
        this.decoder = decoder;
        this.deadLetters = deadLetters;
    }

    /** The cursor after the last batch of the last epoch (valid after {@link #take()} returned null). */
    @Override
    public Cursor endCursor() {
        return endMarker == null ? null : endMarker.after();
    }

    /** Asks the reader to commit these next offsets to the consumer group (informational; best effort). */
    @Override
    public void requestCommit(Map<Integer, Long> positions) {
        pendingCommit.set(Map.copyOf(positions));
    }

    // ---- reader thread ----

    private Consumer<byte[], byte[]> consumer;
    private final Map<Integer, ArrayDeque<ConsumerRecord<byte[], byte[]>>> buffered = new HashMap<>();

    @Override
    void read(Consumer<byte[], byte[]> c) throws InterruptedException {
        consumer = c;
        List<TopicPartition> tps = partitions.stream().map(p -> new TopicPartition(topic, p)).toList();
        consumer.assign(tps);
        for (int epoch = from.epoch(); epoch < epochs && !isClosed(); epoch++) {
            Cursor start = epoch == from.epoch() ? from : Cursor.startOf(epoch, starts);
            readEpoch(epoch, start);
        }
        endMarker = new Batch(-1, 0, new float[0], new int[0], null, null,
                new Cursor(epochs, 0, ends, 0, 0), Map.of(), null, failuresSinceBatch, 0, null);
    }

    private void readEpoch(int epoch, Cursor start) throws InterruptedException {
        Map<Integer, Long> positions = new TreeMap<>(start.blockStart());
        for (Integer p : partitions) {
            positions.putIfAbsent(p, starts.get(p));
            consumer.seek(new TopicPartition(topic, p), positions.get(p));
            buffered.computeIfAbsent(p, k -> new ArrayDeque<>()).clear();
            consumer.resume(List.of(new TopicPartition(topic, p)));
        }
        int rr = start.roundRobin();
        long block = start.block();
        int skip = start.skip();
        while (!isClosed()) {
            Map<Integer, Long> blockStart = new TreeMap<>(positions);
            int blockRr = rr;
            List<Example> examples = new ArrayList<>(blockSize);
            long decodeNanos = 0;
            boolean exhausted = false;
            while (examples.size() < blockSize) {
                int p = -1;
                for (int tries = 0; tries < partitions.size(); tries++) {
                    int candidate = partitions.get(rr % partitions.size());
                    ConsumerRecord<byte[], byte[]> peek = peek(candidate);
                    if (peek != null) {
                        p = candidate;
                        break;
                    }
                    rr = (rr + 1) % partitions.size();
                }
                if (p < 0) {
                    exhausted = true;
                    break;
                }
                ConsumerRecord<byte[], byte[]> record = buffered.get(p).poll();
                positions.put(p, record.offset() + 1);
                rr = (rr + 1) % partitions.size();
                long t0 = System.nanoTime();
                Example e = decode(record, epoch);
                decodeNanos += System.nanoTime() - t0;
                if (e != null && !e.skipped()) {
                    examples.add(e);
                }
            }
            if (examples.isEmpty()) {
                return;
            }
            permute(examples, epoch, block);
            int batchesInBlock = (examples.size() + batchSize - 1) / batchSize;
            for (int i = skip; i < examples.size(); i += batchSize) {
                int end = Math.min(examples.size(), i + batchSize);
                Cursor after = end >= examples.size()
                        ? new Cursor(epoch, block + 1, positions, rr, 0)
                        : new Cursor(epoch, block, blockStart, blockRr, end);
                emit(batch(epoch, examples.subList(i, end), after, positions, decodeNanos / batchesInBlock));
            }
            skip = 0;
            block++;
            if (exhausted) {
                return;
            }
        }
    }

    private Example decode(ConsumerRecord<byte[], byte[]> record, int epoch) throws InterruptedException {
        for (int attempt = 0; ; attempt++) {
            try {
                return decoder.decode(record);
            } catch (RuntimeException e) {
                FailureDisposition d = FailureDisposition.of(e);
                if (d == FailureDisposition.DEAD_LETTER) {
                    failuresSinceBatch++;
                    if (epoch == 0) {
                        deadLetters.deadLetter(record, e);
                    }
                    return null;
                }
                if (d == FailureDisposition.RETRY && attempt < MAX_RETRIES) {
                    LOGGER.warn("Retrying record {}-{}@{} after a transient failure: {}", record.topic(), record.partition(),
                            record.offset(), e.toString());
                    Thread.sleep(Math.min(5_000, 100L << attempt));
                    continue;
                }
                throw e;
            }
        }
    }

    /** The next buffered record of {@code p} without removing it; null when {@code p} is exhausted. */
    private ConsumerRecord<byte[], byte[]> peek(int p) throws InterruptedException {
        ArrayDeque<ConsumerRecord<byte[], byte[]>> dq = buffered.get(p);
        TopicPartition tp = new TopicPartition(topic, p);
        while (dq.isEmpty()) {
            if (consumer.position(tp) >= ends.get(p)) {
                return null;
            }
            pollOnce();
        }
        return dq.peek();
    }

    private void pollOnce() throws InterruptedException {
        if (Thread.interrupted() || isClosed()) {
            throw new InterruptedException("reader closed");
        }
        ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL);
        for (ConsumerRecord<byte[], byte[]> r : records) {
            if (r.offset() < ends.get(r.partition())) {
                buffered.get(r.partition()).add(r);
            }
        }
        List<TopicPartition> pause = new ArrayList<>();
        List<TopicPartition> resume = new ArrayList<>();
        for (Integer p : partitions) {
            TopicPartition tp = new TopicPartition(topic, p);
            boolean full = buffered.get(p).size() >= PAUSE_ABOVE || consumer.position(tp) >= ends.get(p);
            if (full) {
                pause.add(tp);
            } else {
                resume.add(tp);
            }
        }
        consumer.pause(pause);
        consumer.resume(resume);
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

    private void permute(List<Example> examples, int epoch, long block) {
        long mixed = seed;
        mixed = mixed * 0x9E3779B97F4A7C15L + epoch;
        mixed = mixed * 0x9E3779B97F4A7C15L + block;
        SplittableRandom random = new SplittableRandom(mixed);
        for (int i = examples.size() - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            Example tmp = examples.get(i);
            examples.set(i, examples.get(j));
            examples.set(j, tmp);
        }
    }

    private Batch batch(int epoch, List<Example> examples, Cursor after, Map<Integer, Long> positions, long decodeNanos) {
        int failures = failuresSinceBatch;
        failuresSinceBatch = 0;
        return BatchAssembler.assemble(topic, epoch, examples, inputSize, classes, after, positions, failures, decodeNanos, null);
    }
}
