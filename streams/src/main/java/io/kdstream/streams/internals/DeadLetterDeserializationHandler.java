package io.kdstream.streams.internals;

import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.SourceCoordinates;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.serde.KdSerializationException;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Dead-letters records the monitors cannot decode: a FailureEvent (component {@value #COMPONENT}, the failure kind the
 * serde reported, the source coordinates and the original key and value bytes) goes to the dead-letter topic in the
 * same transaction as the task's progress, and processing continues. Transient registry errors are not the record's
 * fault: they fail the thread instead, so the record is retried, never dead-lettered by mistake.
 */
public final class DeadLetterDeserializationHandler implements DeserializationExceptionHandler {

    /** Component name in the FailureEvents of the monitors. */
    public static final String COMPONENT = "monitor";
    /** Config key of the dead-letter topic (the same key as the rest of kdstream). */
    public static final String DLQ_TOPIC_CONFIG = io.kdstream.core.config.KdConfig.TOPIC_DLQ_CONFIG;
    /** Default dead-letter topic. */
    public static final String DEFAULT_DLQ_TOPIC = "kd.dlq";

    private static final Logger LOGGER = LoggerFactory.getLogger(DeadLetterDeserializationHandler.class);

    private final AtomicLong deadLettered = new AtomicLong();
    private String dlqTopic = DEFAULT_DLQ_TOPIC;
    private Serializer<FailureEvent> serializer;

    @Override
    public void configure(Map<String, ?> configs) {
        Object topic = configs.get(DLQ_TOPIC_CONFIG);
        if (topic != null && !topic.toString().isBlank()) {
            dlqTopic = topic.toString();
        }
        serializer = KdAvroSerdes.value(FailureEvent.class, configs).serializer();
    }

    @Override
    public Response handleError(ErrorHandlerContext context, ConsumerRecord<byte[], byte[]> record,
                                Exception exception) {
        if (isRetriable(exception)) {
            LOGGER.error("transient error while decoding topic={} partition={} offset={}; failing so the record is "
                    + "retried", context.topic(), context.partition(), context.offset(), exception);
            return Response.fail();
        }
        Instant now = Instant.now();
        FailureEvent failure = failureEvent(context, record, exception, now);
        byte[] value;
        try {
            value = serializer.serialize(dlqTopic, failure);
        } catch (RuntimeException e) {
            LOGGER.error("cannot dead-letter undecodable record topic={} partition={} offset={}", context.topic(),
                    context.partition(), context.offset(), e);
            return Response.fail();
        }
        long total = deadLettered.incrementAndGet();
        LOGGER.warn("dead-lettered undecodable record topic={} partition={} offset={} kind={} reason={} total={}",
                context.topic(), context.partition(), context.offset(), failure.getKind(), failure.getMessage(),
                total);
        LOGGER.debug("decode failure of topic={} offset={}", context.topic(), context.offset(), exception);
        return Response.resume(List.of(new ProducerRecord<>(dlqTopic, null, now.toEpochMilli(), record.key(), value)));
    }

    /** The FailureEvent of an undecodable record. */
    public static FailureEvent failureEvent(ErrorHandlerContext context, ConsumerRecord<byte[], byte[]> record,
                                            Exception exception, Instant now) {
        FailureKind kind = exception instanceof KdSerializationException kd ? kd.failureKind()
                : FailureKind.DESERIALIZATION;
        Map<String, String> attributes = new LinkedHashMap<>();
        attributes.put("exception", exception.getClass().getName());
        attributes.put("processorNodeId", String.valueOf(context.processorNodeId()));
        attributes.put("taskId", String.valueOf(context.taskId()));
        String message = exception.getMessage() == null ? exception.getClass().getSimpleName()
                : exception.getMessage();
        return FailureEvent.newBuilder()
                .setComponent(COMPONENT)
                .setKind(kind)
                .setMessage(message)
                .setKey(record.key() == null ? null : ByteBuffer.wrap(record.key()))
                .setSource(new SourceCoordinates(record.topic(), record.partition(), record.offset()))
                .setOriginalValue(record.value() == null ? null : ByteBuffer.wrap(record.value()))
                .setTimestampMs(now)
                .setAttributes(attributes)
                .build();
    }

    private static boolean isRetriable(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof RetriableException) {
                return true;
            }
        }
        return false;
    }

    /** Records dead-lettered by this handler instance. */
    public long deadLettered() {
        return deadLettered.get();
    }
}
