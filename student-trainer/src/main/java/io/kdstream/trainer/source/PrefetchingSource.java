package io.kdstream.trainer.source;

import io.kdstream.core.KdException;

import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * What the batch sources share: {@link #read} runs on a daemon thread of its own, with a consumer from the factory, and
 * hands batches to {@link #emit}; the training thread takes them with {@link #poll}, at most {@code prefetchBatches}
 * ahead. When {@code read} returns or fails, the consumer is closed and an end marker follows the last batch; a
 * failure is thrown again by {@code poll}. {@link #close()} stops the thread.
 */
abstract class PrefetchingSource implements BatchSource {
    private static final Logger LOGGER = LoggerFactory.getLogger(PrefetchingSource.class);
    private static final Batch END = new Batch(-1, 0, new float[0], new int[0], null, null,
            Cursor.NONE, Map.of(), null, 0, 0, null);

    private final Supplier<Consumer<byte[], byte[]>> consumerFactory;
    private final BlockingQueue<Batch> queue;
    private final Thread thread;
    private final String activity;
    private volatile Throwable failure;
    private volatile boolean closed;

    /**
     * @param threadName name of the reading thread
     * @param activity   what the source does, for errors ("Reading teacher outputs")
     */
    PrefetchingSource(Supplier<Consumer<byte[], byte[]>> consumerFactory, int prefetchBatches, String threadName,
                      String activity) {
        this.consumerFactory = Objects.requireNonNull(consumerFactory, "consumerFactory");
        this.queue = new ArrayBlockingQueue<>(prefetchBatches);
        this.activity = activity;
        this.thread = new Thread(this::run, threadName);
        this.thread.setDaemon(true);
    }

    /** Reads on the source's thread until the source is exhausted or {@link #isClosed()}. */
    abstract void read(Consumer<byte[], byte[]> consumer) throws InterruptedException;

    /** Hands a batch to the training thread; blocks while {@code prefetchBatches} are waiting. */
    final void emit(Batch batch) throws InterruptedException {
        queue.put(batch);
    }

    final boolean isClosed() {
        return closed;
    }

    @Override
    public final void start() {
        thread.start();
    }

    @Override
    public final Batch poll(long timeoutMs) throws InterruptedException {
        Batch b = queue.poll(timeoutMs, TimeUnit.MILLISECONDS);
        if (b == null) {
            return TIMEOUT;
        }
        if (b == END) {
            queue.put(END);
            if (failure != null) {
                throw new KdException(activity + " failed: " + failure.getMessage(), failure);
            }
            return null;
        }
        return b;
    }

    @Override
    public final void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        Consumer<byte[], byte[]> consumer = consumerFactory.get();
        try {
            read(consumer);
        } catch (InterruptedException | org.apache.kafka.common.errors.InterruptException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            if (!closed) {
                failure = t;
                LOGGER.error("{} failed: {}", activity, t.toString());
            }
        } finally {
            Thread.interrupted(); // an interrupted thread cannot close the consumer cleanly
            try {
                consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
            } catch (RuntimeException e) {
                LOGGER.debug("Closing the consumer failed: {}", e.toString());
            }
            if (!closed) {
                try {
                    queue.put(END);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }
}
