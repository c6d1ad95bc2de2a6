package io.kdstream.trainer.run;

import io.kdstream.core.KdException;

import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Serialises and sends per-step records on a thread of its own, so the training thread only hands a record over.
 * Records leave in the order they were handed over (one thread); at most {@code capacity} wait, after which
 * {@link #publish} blocks until one has left. {@link #drain} returns once every record handed over so far has been
 * given to the producer: call it before flushing the producer and before a run's final manifest, so that no step
 * record of a run trails its FINISHED or FAILED manifest. A record that cannot be serialised or sent is not dropped
 * silently: the first such failure is rethrown by the next {@link #publish} or {@link #drain}.
 *
 * @param <T> the record type
 */
public final class StepPublisher<T> implements AutoCloseable {
    private static final Logger LOGGER = LoggerFactory.getLogger(StepPublisher.class);

    private final Producer<byte[], byte[]> producer;
    private final Serializer<T> serializer;
    private final String topic;
    private final Semaphore room;
    private final ExecutorService thread;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    public StepPublisher(Producer<byte[], byte[]> producer, Serializer<T> serializer, String topic, int capacity,
                         String threadName) {
        this.producer = Objects.requireNonNull(producer, "producer");
        this.serializer = Objects.requireNonNull(serializer, "serializer");
        this.topic = Objects.requireNonNull(topic, "topic");
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
        }
        this.room = new Semaphore(capacity);
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
    }

    /** Hands {@code record} over, keyed by {@code key}; blocks while {@code capacity} records are waiting. */
    public void publish(String key, T record) throws InterruptedException {
        rethrow();
        room.acquire();
        try {
            thread.execute(() -> {
                try {
                    byte[] value = serializer.serialize(topic, record);
                    producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value), (md, e) -> {
                        if (e != null) {
                            LOGGER.warn("Publishing to {} failed: {}", topic, e.toString());
                        }
                    });
                } catch (RuntimeException e) {
                    failure.compareAndSet(null, e);
                } finally {
                    room.release();
                }
            });
        } catch (RuntimeException e) {
            room.release();
            throw e;
        }
    }

    /** Waits until every record handed over so far has been given to the producer. */
    public void drain() throws InterruptedException {
        try {
            thread.submit(() -> { }).get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("draining " + topic, e.getCause());
        }
        rethrow();
    }

    private void rethrow() {
        Throwable t = failure.get();
        if (t != null) {
            throw new KdException("A step record could not be published to " + topic + ": " + t.getMessage(), t);
        }
    }

    /** Drains (unless interrupted) and stops the thread. */
    @Override
    public void close() {
        try {
            thread.submit(() -> { }).get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            LOGGER.warn("Step records to {} may not all have been handed to the producer: {}", topic, e.toString());
        } finally {
            thread.shutdownNow();
        }
    }
}
