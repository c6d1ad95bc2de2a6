package io.kdstream.teacher.serve;

import org.apache.kafka.clients.consumer.ConsumerInterceptor;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerInterceptor;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

import java.util.Map;

/**
 * Test-only client interceptor: every producer send sleeps {@link #delayMs} milliseconds (0 unless a test sets it), so
 * that a teacher transaction stays open long enough for a kill to land inside it. The teacher-service passes
 * {@code interceptor.classes} to its consumers too, so this is both interceptors; on the consumer side it does nothing.
 */
public final class SlowSends implements ProducerInterceptor<byte[], byte[]>, ConsumerInterceptor<byte[], byte[]> {

    /** Delay of each send in this JVM; tests set it and reset it to 0. */
    static volatile long delayMs;

    @Override
    public ProducerRecord<byte[], byte[]> onSend(ProducerRecord<byte[], byte[]> record) {
        long delay = delayMs;
        if (delay > 0) {
            try {
                Thread.sleep(delay);
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
        // the delay is set by the test
    }

    @Override
    public void close() {
        // nothing to release
    }
}
