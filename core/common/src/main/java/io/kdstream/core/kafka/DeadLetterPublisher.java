package io.kdstream.core.kafka;

import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.SourceCoordinates;
import io.kdstream.schemas.serde.KdSerializationException;
import io.kdstream.schemas.serde.OversizedRecordException;
import io.kdstream.schemas.tensor.InvalidTensorException;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.time.Clock;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Turns a record that a stage could not process into a {@link FailureEvent} on the dead-letter topic: reason, kind,
 * source coordinates and the original key and value bytes, so nothing bad is dropped silently. Sends through the
 * caller's producer, so a transactional stage dead-letters inside the same transaction as its outputs.
 *
 * <p>A dead letter must always fit: when the event with the original bytes would exceed the serializer's record limit
 * ({@code kdstream.avro.max.record.bytes}) or {@link #DEFAULT_MAX_EVENT_BYTES} (below Kafka's default 1 MiB request
 * and message size), the original value is left out (and the key too if the event is still too large) and the event
 * carries its length and sha256 in the attributes {@code originalValueOmitted}, {@code originalValueBytes},
 * {@code originalValueSha256} (and {@code key...} likewise) instead. The source coordinates still point at the
 * original record.
 *
 * <p>Thread-safe. Counts per kind are kept for metrics; each dead letter is logged at DEBUG with its stack trace,
 * and stages summarise the counts at INFO.
 */
public final class DeadLetterPublisher {
    private static final Logger LOGGER = LoggerFactory.getLogger(DeadLetterPublisher.class);
    private static final int MAX_MESSAGE_CHARS = 2_000;
    /** Largest serialized event sent with its original bytes: under Kafka's default 1 MiB request and message size. */
    public static final int DEFAULT_MAX_EVENT_BYTES = 1_000_000;

    private final String component;
    private final String topic;
    private final Serializer<FailureEvent> serializer;
    private final Clock clock;
    private final int maxEventBytes;
    private final AtomicLong total = new AtomicLong();
    private final Map<FailureKind, AtomicLong> byKind = new EnumMap<>(FailureKind.class);

    public DeadLetterPublisher(String component, String dlqTopic, Serializer<FailureEvent> serializer) {
        this(component, dlqTopic, serializer, Clock.systemUTC());
    }

    public DeadLetterPublisher(String component, String dlqTopic, Serializer<FailureEvent> serializer, Clock clock) {
        this(component, dlqTopic, serializer, clock, DEFAULT_MAX_EVENT_BYTES);
    }

    /**
     * @param maxEventBytes largest serialized event that keeps the original key and value; larger events are sent
     *                      without them (see the class comment)
     */
    public DeadLetterPublisher(String component, String dlqTopic, Serializer<FailureEvent> serializer, Clock clock,
                               int maxEventBytes) {
        if (maxEventBytes < 4_096) {
            throw new IllegalArgumentException("maxEventBytes must be at least 4096, was " + maxEventBytes);
        }
        this.maxEventBytes = maxEventBytes;
        this.component = Objects.requireNonNull(component, "component");
        this.topic = Objects.requireNonNull(dlqTopic, "dlqTopic");
        this.serializer = Objects.requireNonNull(serializer, "serializer");
        this.clock = Objects.requireNonNull(clock, "clock");
        for (FailureKind kind : FailureKind.values()) {
            byKind.put(kind, new AtomicLong());
        }
    }

    /** The failure kind of an exception: the serde's or the tensor codec's own classification, else UNKNOWN. */
    public static FailureKind kindOf(Throwable t) {
        if (t instanceof BadRecordException bad) {
            return bad.kind();
        }
        if (t instanceof KdSerializationException ser) {
            return ser.failureKind();
        }
        if (t instanceof InvalidTensorException tensor) {
            return switch (tensor.reason()) {
                case SHAPE -> FailureKind.SHAPE;
                case DTYPE -> FailureKind.DTYPE;
                case OVERSIZED -> FailureKind.OVERSIZED;
            };
        }
        return FailureKind.UNKNOWN;
    }

    /** Builds the event for a record read from Kafka. */
    public FailureEvent event(FailureKind kind, String message, ConsumerRecord<byte[], byte[]> source, Map<String, String> attributes) {
        Objects.requireNonNull(kind, "kind");
        FailureEvent.Builder b = FailureEvent.newBuilder()
                .setComponent(component)
                .setKind(kind)
                .setMessage(truncate(message))
                .setTimestampMs(clock.instant())
                .setAttributes(new HashMap<>(attributes));
        if (source != null) {
            b.setSource(new SourceCoordinates(source.topic(), source.partition(), source.offset()));
            b.setKey(source.key() == null ? null : ByteBuffer.wrap(source.key()));
            b.setOriginalValue(source.value() == null ? null : ByteBuffer.wrap(source.value()));
        }
        return b.build();
    }

    /**
     * Dead-letters {@code source} because of {@code cause}: the kind comes from {@link #kindOf(Throwable)}.
     */
    public Future<RecordMetadata> publish(Producer<byte[], byte[]> producer, ConsumerRecord<byte[], byte[]> source, Throwable cause) {
        Map<String, String> attrs = Map.of("exception", cause.getClass().getName());
        return publish(producer, kindOf(cause), describe(cause), source, attrs, cause);
    }

    /** Dead-letters {@code source} (may be null for failures not tied to one Kafka record) with an explicit kind. */
    public Future<RecordMetadata> publish(Producer<byte[], byte[]> producer, FailureKind kind, String message,
                                          ConsumerRecord<byte[], byte[]> source, Map<String, String> attributes, Throwable cause) {
        FailureEvent event = event(kind, message, source, attributes);
        byte[] value = serializeFitting(event);
        byte[] key = event.getKey() == null || source == null ? null : source.key();
        total.incrementAndGet();
        byKind.get(kind).incrementAndGet();
        if (LOGGER.isDebugEnabled()) {
            LOGGER.debug("Dead-lettering record component={} kind={} source={} reason={}", component, kind,
                    source == null ? "-" : source.topic() + "-" + source.partition() + "@" + source.offset(), message, cause);
        }
        return producer.send(new ProducerRecord<>(topic, key, value));
    }

    /**
     * The serialized event; when it is too large with the original bytes, {@code event} is stripped first of the
     * original value, then of the key (each one's length and sha256 recorded in its attributes) and serialized again.
     */
    private byte[] serializeFitting(FailureEvent event) {
        String why = null;
        for (int attempt = 0; ; attempt++) {
            if (attempt == 1) {
                omit(event, "originalValue", event.getOriginalValue(), why);
                event.setOriginalValue(null);
            } else if (attempt == 2) {
                omit(event, "key", event.getKey(), why);
                event.setKey(null);
            }
            boolean last = event.getOriginalValue() == null && event.getKey() == null;
            try {
                byte[] bytes = serializer.serialize(topic, event);
                if (bytes.length <= maxEventBytes || last) {
                    if (why != null) {
                        LOGGER.debug("Dead letter for {} sent without original bytes: {}", event.getSource(), why);
                    }
                    return bytes;
                }
                why = "event of " + bytes.length + " bytes exceeds " + maxEventBytes;
            } catch (OversizedRecordException e) {
                if (last) {
                    throw e;
                }
                why = e.getMessage();
            }
        }
    }

    private static void omit(FailureEvent event, String name, ByteBuffer bytes, String why) {
        if (bytes == null) {
            return;
        }
        Map<String, String> attrs = new HashMap<>(event.getAttributes());
        ByteBuffer b = bytes.duplicate();
        attrs.put(name + "Omitted", "true");
        attrs.put(name + "Bytes", Integer.toString(b.remaining()));
        try {
            java.security.MessageDigest digest = java.security.MessageDigest.getInstance("SHA-256");
            digest.update(b);
            attrs.put(name + "Sha256", java.util.HexFormat.of().formatHex(digest.digest()));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
        attrs.put("omittedBecause", truncate(why));
        event.setAttributes(attrs);
    }

    /** Dead letters published by this instance. */
    public long count() {
        return total.get();
    }

    /** Dead letters per kind (kinds never seen are 0). */
    public Map<FailureKind, Long> countsByKind() {
        Map<FailureKind, Long> out = new EnumMap<>(FailureKind.class);
        byKind.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    public String topic() {
        return topic;
    }

    private static String describe(Throwable t) {
        String msg = t.getMessage();
        return msg == null || msg.isBlank() ? t.getClass().getSimpleName() : msg;
    }

    private static String truncate(String s) {
        if (s == null) {
            return "";
        }
        return s.length() <= MAX_MESSAGE_CHARS ? s : s.substring(0, MAX_MESSAGE_CHARS) + "...";
    }
}
