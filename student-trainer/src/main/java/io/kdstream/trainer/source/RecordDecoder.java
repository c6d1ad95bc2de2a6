package io.kdstream.trainer.source;

import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Turns one consumed record into an {@link Example}, or throws the exception that classifies why it cannot be trained
 * on (see {@code FailureDisposition}). Not thread-safe: one per reader.
 */
@FunctionalInterface
public interface RecordDecoder {
    Example decode(ConsumerRecord<byte[], byte[]> record);
}
