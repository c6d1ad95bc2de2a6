package io.kdstream.it.support;

import org.apache.kafka.clients.consumer.ConsumerInterceptor;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerInterceptor;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

import java.util.Map;

/**
 * Test-only client interceptor that makes every producer send take {@value #DELAY_PROPERTY} milliseconds (a system
 * property of the process, default 0), so that a transaction stays open long enough for a kill to land inside it.
 * kdstream passes {@code interceptor.classes} to both the producers and the consumers it builds from one
 * configuration, so this class is both interceptors; on the consumer side it changes nothing.
 *
 * <pre>{@code
 * interceptor.classes=io.kdstream.it.support.SlowSendInterceptor   # and -Dkd.it.send.delay.ms=15 on the JVM
 * }</pre>
 */
public final class SlowSendInterceptor implements ProducerInterceptor<byte[], byte[]>, ConsumerInterceptor<byte[], byte[]> {
    public static final String DELAY_PROPERTY = "kd.it.send.delay.ms";

    private final long delayMs = Long.getLong(DELAY_PROPERTY, 0L);

    @Override
    public ProducerRecord<byte[], byte[]> onSend(ProducerRecord<byte[], byte[]> record) {
        if (delayMs > 0) {
            try {
                Thread.sleep(delayMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return record;
    }

    @Override
    public ConsumerRecords<byte[], byte[]> onConsume(ConsumerRecords<byte[], byte[]> records) {
        return records;
    }

    @Override
    public void onCommit(Map<TopicPartition, OffsetAndMetadata> offsets) {
        // nothing to slow down on the consumer side
    }

    @Override
    public void configure(Map<String, ?> configs) {
        // the delay comes from the process's system properties
    }

    @Override
    public void close() {
        // nothing to release
    }
}
