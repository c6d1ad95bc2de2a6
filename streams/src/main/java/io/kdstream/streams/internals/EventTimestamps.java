package io.kdstream.streams.internals;

import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.TrainingStep;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.processor.TimestampExtractor;

import java.time.Instant;

/**
 * Event time of the monitors' inputs: {@code TrainingStep.timestampMs} and {@code FailureEvent.timestampMs}. Any
 * other value, or a negative timestamp, falls back to the Kafka record timestamp, then to the partition time.
 */
public final class EventTimestamps implements TimestampExtractor {

    @Override
    public long extract(ConsumerRecord<Object, Object> record, long partitionTime) {
        Instant eventTime = null;
        if (record.value() instanceof TrainingStep step) {
            eventTime = step.getTimestampMs();
        } else if (record.value() instanceof FailureEvent failure) {
            eventTime = failure.getTimestampMs();
        }
        if (eventTime != null && eventTime.toEpochMilli() >= 0) {
            return eventTime.toEpochMilli();
        }
        if (record.timestamp() >= 0) {
            return record.timestamp();
        }
        return Math.max(partitionTime, 0L);
    }
}
