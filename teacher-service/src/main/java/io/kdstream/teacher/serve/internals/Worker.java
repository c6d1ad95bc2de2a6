package io.kdstream.teacher.serve.internals;

import io.kdstream.avro.FailureKind;
import io.kdstream.avro.SourceCoordinates;
import io.kdstream.avro.TeacherFeatures;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.core.KdException;
import io.kdstream.core.kafka.DeadLetterPublisher;
import io.kdstream.teacher.serve.BatchingPolicy;
import io.kdstream.teacher.serve.TeacherMetrics;
import io.kdstream.core.data.ViewNumber;

import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * One worker: a consumer in the teacher group, a transactional producer and a predictor, all owned by one thread.
 * Pending inputs are batched by the {@link BatchingPolicy}; each flush is one Kafka transaction holding the outputs,
 * the dead letters and the consumed offsets ({@code sendOffsetsToTransaction}), so read_committed readers see every
 * input's result exactly once. A transient failure aborts the transaction, rewinds to the first pending offsets and
 * retries after a backoff; a fenced producer or an authorization failure stops the worker.
 */
public final class Worker implements Runnable {

    private static final Logger LOGGER = LoggerFactory.getLogger(Worker.class);
    private static final long IDLE_POLL_MS = 200;

    private final int index;
    private final Consumer<byte[], byte[]> consumer;
    private final Producer<byte[], byte[]> producer;
    private final BatchTransformer transformer;
    private final BatchingPolicy policy;
    private final String inputsTopic;
    private final Outputs out;
    private final DeadLetterPublisher deadLetters;
    private final TeacherMetrics metrics;
    private final long retryBackoffMs;
    private final AutoCloseable predictor;
    private final AutoCloseable deserializer;

    private final List<ConsumerRecord<byte[], byte[]>> pending = new ArrayList<>();
    /** {@link System#nanoTime()} when each pending input was polled, parallel to {@link #pending}. */
    private final List<Long> arrivals = new ArrayList<>();
    private long oldestArrivalNs;
    private volatile boolean running = true;
    private volatile boolean killed;
    private volatile Throwable failure;

    /**
     * Where a worker publishes: teacher outputs, and the companion topic of their feature maps ({@code featuresTopic}
     * null: the maps stay inline in the outputs).
     */
    public record Outputs(String outputsTopic, Serializer<TeacherOutput> outputSerializer, String featuresTopic,
                          Serializer<TeacherFeatures> featuresSerializer) {
    }

    public Worker(int index, Consumer<byte[], byte[]> consumer, Producer<byte[], byte[]> producer,
            BatchTransformer transformer, BatchingPolicy policy, String inputsTopic, Outputs out,
            DeadLetterPublisher deadLetters, TeacherMetrics metrics, long retryBackoffMs, AutoCloseable predictor,
            AutoCloseable deserializer) {
        this.index = index;
        this.consumer = consumer;
        this.producer = producer;
        this.transformer = transformer;
        this.policy = policy;
        this.inputsTopic = inputsTopic;
        this.out = out;
        this.deadLetters = deadLetters;
        this.metrics = metrics;
        this.retryBackoffMs = retryBackoffMs;
        this.predictor = predictor;
        this.deserializer = deserializer;
    }

    /** Asks the worker to finish its current transaction and stop. */
    public void stop() {
        running = false;
        consumer.wakeup();
    }

    /**
     * Stops the worker like a crashed process: the open transaction is neither committed nor aborted and the
     * producer is closed at once. For failure drills.
     */
    public void kill() {
        killed = true;
        running = false;
        consumer.wakeup();
    }

    /** Why the worker stopped on its own, or null. */
    public Throwable failure() {
        return failure;
    }

    @Override
    public void run() {
        Thread.currentThread().setName("kdstream-teacher-worker-" + index);
        try {
            producer.initTransactions();
            consumer.subscribe(List.of(inputsTopic), new Rebalance());
            while (running) {
                long now = System.nanoTime();
                ConsumerRecords<byte[], byte[]> records;
                try {
                    records = consumer.poll(Duration.ofMillis(policy.pollTimeoutMs(pending.size(), oldestArrivalNs, now, IDLE_POLL_MS)));
                } catch (WakeupException e) {
                    continue;
                }
                long polledNs = System.nanoTime();
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    if (pending.isEmpty()) {
                        oldestArrivalNs = polledNs;
                    }
                    pending.add(r);
                    arrivals.add(polledNs);
                }
                if (policy.shouldFlush(pending.size(), oldestArrivalNs, System.nanoTime())) {
                    flush();
                }
            }
            if (!killed && !pending.isEmpty()) {
                LOGGER.info("Worker {} stopping; {} uncommitted input(s) will be read again by the group", index, pending.size());
            }
        } catch (KilledException e) {
            LOGGER.warn("Worker {} killed with a transaction open", index);
        } catch (RuntimeException e) {
            failure = e;
            LOGGER.error("Worker {} stopped: {}", index, e.getMessage(), e);
        } finally {
            closeAll();
        }
    }

    private void flush() {
        List<ConsumerRecord<byte[], byte[]>> batch = new ArrayList<>(pending);
        long[] polledAt = arrivals.stream().mapToLong(Long::longValue).toArray();
        pending.clear();
        arrivals.clear();
        try {
            commitTransaction(batch, polledAt);
        } catch (ProducerFencedException | InvalidProducerEpochException | OutOfOrderSequenceException
                | UnsupportedVersionException | AuthorizationException | AuthenticationException e) {
            throw new KdException("Worker " + index + " cannot go on: " + e.getMessage()
                    + (e instanceof ProducerFencedException ? " (another instance uses the same "
                    + "teacher.transactional.id.prefix)" : ""), e);
        } catch (KafkaException e) {
            if (killed) {
                throw new KilledException();
            }
            abort(e);
            rewind(batch);
            LOGGER.warn("Worker {}: transaction aborted ({}); its inputs will be read again after {} ms", index,
                    e.toString(), retryBackoffMs);
            sleep(retryBackoffMs);
        }
    }

    private void commitTransaction(List<ConsumerRecord<byte[], byte[]>> batch, long[] polledAt) {
        producer.beginTransaction();
        // each inference batch's outputs leave while the next batch is scored; outputs whose feature maps go to the
        // companion topic wait until those records are written and their offsets known
        List<BatchTransformer.Produced> waiting = new ArrayList<>();
        List<Future<RecordMetadata>> featureRecords = new ArrayList<>();
        BatchTransformer.Result result = transformer.transform(batch, produced -> {
            for (BatchTransformer.Produced p : produced) {
                if (out.featuresTopic() != null && !p.output().getFeatures().isEmpty()) {
                    featureRecords.add(sendFeatures(p));
                    waiting.add(p);
                } else {
                    sendOutput(p);
                }
            }
        });
        if (!waiting.isEmpty()) {
            producer.flush();
            for (int i = 0; i < waiting.size(); i++) {
                BatchTransformer.Produced p = waiting.get(i);
                RecordMetadata m = written(featureRecords.get(i));
                p.output().setFeatures(List.of());
                p.output().setFeaturesRef(new SourceCoordinates(m.topic(), m.partition(), m.offset()));
                sendOutput(p);
            }
        }
        Map<FailureKind, Integer> failures = new EnumMap<>(FailureKind.class);
        for (BatchTransformer.Failure f : result.failures()) {
            Map<String, String> attrs = new HashMap<>();
            if (f.cause() != null) {
                attrs.put("exception", f.cause().getClass().getName());
            }
            deadLetters.publish(producer, f.kind(), f.message(), f.source(), attrs, f.cause());
            failures.merge(f.kind(), 1, Integer::sum);
        }
        if (killed) {
            throw new KilledException();
        }
        producer.sendOffsetsToTransaction(nextOffsets(batch), consumer.groupMetadata());
        producer.commitTransaction();
        long done = System.nanoTime();
        long[] latencies = new long[batch.size()];
        for (int i = 0; i < latencies.length; i++) {
            latencies[i] = done - polledAt[i];
        }
        int[] sizes = result.batchSizes();
        double[] fills = new double[sizes.length];
        for (int i = 0; i < sizes.length; i++) {
            fills[i] = policy.fill(sizes[i]);
        }
        metrics.recordCommit(batch.size(), result.outputs().size(), failures, sizes, fills, latencies);
    }

    /**
     * Sends an output's feature maps to the companion topic (same key), in the open transaction: an abort discards them
     * with the outputs.
     */
    private Future<RecordMetadata> sendFeatures(BatchTransformer.Produced p) {
        TeacherOutput o = p.output();
        TeacherFeatures f = new TeacherFeatures(o.getInputId(), ViewNumber.of(o.getAttributes()), o.getSource(), o.getFeatures());
        return producer.send(new ProducerRecord<>(out.featuresTopic(), key(p), out.featuresSerializer().serialize(out.featuresTopic(), f)));
    }

    private void sendOutput(BatchTransformer.Produced p) {
        producer.send(new ProducerRecord<>(out.outputsTopic(), key(p), out.outputSerializer().serialize(out.outputsTopic(), p.output())));
    }

    private static RecordMetadata written(Future<RecordMetadata> future) {
        try {
            return future.get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof KafkaException k ? k
                    : new KafkaException("writing a feature record failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("interrupted while writing feature records", e);
        }
    }

    private static byte[] key(BatchTransformer.Produced p) {
        return p.source().key() != null ? p.source().key() : p.output().getInputId().getBytes(StandardCharsets.UTF_8);
    }

    private static Map<TopicPartition, OffsetAndMetadata> nextOffsets(List<ConsumerRecord<byte[], byte[]>> batch) {
        Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : batch) {
            TopicPartition tp = new TopicPartition(r.topic(), r.partition());
            OffsetAndMetadata next = new OffsetAndMetadata(r.offset() + 1);
            out.merge(tp, next, (a, b) -> a.offset() >= b.offset() ? a : b);
        }
        return out;
    }

    private void abort(KafkaException cause) {
        metrics.recordAbort();
        try {
            producer.abortTransaction();
        } catch (IllegalStateException e) {
            LOGGER.debug("Worker {}: no transaction to abort after {}", index, cause.toString());
        } catch (KafkaException e) {
            LOGGER.warn("Worker {}: abort failed ({}) after {}", index, e.toString(), cause.toString());
        }
    }

    /** Seeks every still-assigned partition of the batch back to its first offset in the batch. */
    private void rewind(List<ConsumerRecord<byte[], byte[]>> batch) {
        Map<TopicPartition, Long> first = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : batch) {
            first.merge(new TopicPartition(r.topic(), r.partition()), r.offset(), Math::min);
        }
        for (ConsumerRecord<byte[], byte[]> r : pending) {
            first.merge(new TopicPartition(r.topic(), r.partition()), r.offset(), Math::min);
        }
        pending.clear();
        arrivals.clear();
        Set<TopicPartition> assigned = consumer.assignment();
        first.forEach((tp, offset) -> {
            if (assigned.contains(tp)) {
                consumer.seek(tp, offset);
            }
        });
    }

    private void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }

    private void closeAll() {
        if (killed) {
            producer.close(Duration.ZERO);
            consumer.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.REMAIN_IN_GROUP)
                    .withTimeout(Duration.ZERO));
        } else {
            try {
                producer.close(Duration.ofSeconds(10));
            } finally {
                consumer.close();
            }
        }
        closeQuietly(deserializer); // also stops the transformer's inference thread, before the predictor goes
        closeQuietly(predictor);
    }

    private void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            LOGGER.warn("Worker {}: closing {} failed: {}", index, c.getClass().getSimpleName(), e.toString());
        }
    }

    /** Drops pending inputs of partitions this worker no longer owns; the new owner reads them again. */
    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            drop(partitions);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            drop(partitions);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            LOGGER.info("Worker {} assigned {}", index, partitions);
        }

        private void drop(Collection<TopicPartition> partitions) {
            Set<TopicPartition> gone = new HashSet<>(partitions);
            for (int i = pending.size() - 1; i >= 0; i--) {
                ConsumerRecord<byte[], byte[]> r = pending.get(i);
                if (gone.contains(new TopicPartition(r.topic(), r.partition()))) {
                    pending.remove(i);
                    arrivals.remove(i);
                }
            }
            if (!pending.isEmpty()) {
                oldestArrivalNs = arrivals.get(0);
            }
        }
    }

    /** Unwinds a killed worker without touching its transaction. */
    private static final class KilledException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        KilledException() {
            super("killed", null, false, false);
        }
    }
}
