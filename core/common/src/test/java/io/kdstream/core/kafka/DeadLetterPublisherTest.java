package io.kdstream.core.kafka;

import io.kdstream.avro.DType;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.FailureKind;
import io.kdstream.schemas.registry.MockSchemaRegistry;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.serde.UnknownMagicByteException;
import io.kdstream.schemas.tensor.InvalidTensorException;
import io.kdstream.schemas.tensor.TensorCodec;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DeadLetterPublisherTest {
    private static final String SCOPE = "dlq-publisher-test";

    private final KdAvroSerde<FailureEvent> serde = KdAvroSerdes.value(FailureEvent.class, Map.of("schema.registry.url", "mock://" + SCOPE));
    private final MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
    private final Clock clock = Clock.fixed(Instant.parse("2026-01-02T03:04:05Z"), ZoneOffset.UTC);
    private final DeadLetterPublisher publisher = new DeadLetterPublisher("teacher-service", "kd.dlq", serde.serializer(), clock);

    @AfterEach
    void dropRegistry() {
        MockSchemaRegistry.dropScope(SCOPE);
    }

    @Test
    void shouldPublishFailureEventWithReasonCoordinatesAndOriginalBytes() {
        byte[] key = "fmnist-train-00007".getBytes(StandardCharsets.UTF_8);
        byte[] value = {1, 2, 3, 4, 5};
        ConsumerRecord<byte[], byte[]> source = new ConsumerRecord<>("kd.inputs", 2, 41L, key, value);

        publisher.publish(producer, source, new UnknownMagicByteException("magic byte 0x01, expected 0x00"));

        assertThat(producer.history()).hasSize(1);
        ProducerRecord<byte[], byte[]> sent = producer.history().get(0);
        assertThat(sent.topic()).isEqualTo("kd.dlq");
        assertThat(sent.key()).isEqualTo(key);
        FailureEvent event = serde.deserializer().deserialize("kd.dlq", sent.value());
        assertThat(event.getComponent()).isEqualTo("teacher-service");
        assertThat(event.getKind()).isEqualTo(FailureKind.DESERIALIZATION);
        assertThat(event.getMessage()).contains("magic byte");
        assertThat(event.getSource().getTopic()).isEqualTo("kd.inputs");
        assertThat(event.getSource().getPartition()).isEqualTo(2);
        assertThat(event.getSource().getOffset()).isEqualTo(41L);
        assertThat(bytes(event.getOriginalValue())).isEqualTo(value);
        assertThat(event.getTimestampMs()).isEqualTo(clock.instant());
        assertThat(event.getAttributes()).containsEntry("exception", UnknownMagicByteException.class.getName());
        assertThat(publisher.count()).isEqualTo(1);
        assertThat(publisher.countsByKind()).containsEntry(FailureKind.DESERIALIZATION, 1L).containsEntry(FailureKind.SHAPE, 0L);
    }

    @Test
    void shouldLeaveOutOriginalBytesThatWouldMakeTheDeadLetterExceedTheSerializerLimit() {
        // Given a serializer that refuses payloads over 10,000 bytes and a bad record of 50,000 bytes
        KdAvroSerde<FailureEvent> small = KdAvroSerdes.value(FailureEvent.class,
                Map.of("schema.registry.url", "mock://" + SCOPE, "kdstream.avro.max.record.bytes", 10_000));
        DeadLetterPublisher limited = new DeadLetterPublisher("teacher-service", "kd.dlq", small.serializer(), clock);
        byte[] value = new byte[50_000];
        value[7] = 9;
        ConsumerRecord<byte[], byte[]> source = new ConsumerRecord<>("kd.inputs", 0, 5L, new byte[] {'k'}, value);

        // When it is dead-lettered
        limited.publish(producer, source, new InvalidTensorException(InvalidTensorException.Reason.OVERSIZED, "pixels", "too big"));

        // Then the event is sent without the bytes, saying how long they were and what they hashed to
        FailureEvent event = small.deserializer().deserialize("kd.dlq", producer.history().get(0).value());
        assertThat(event.getKind()).isEqualTo(FailureKind.OVERSIZED);
        assertThat(event.getOriginalValue()).isNull();
        assertThat(event.getSource().getOffset()).isEqualTo(5L);
        assertThat(event.getAttributes())
                .containsEntry("originalValueOmitted", "true")
                .containsEntry("originalValueBytes", "50000")
                .containsEntry("originalValueSha256", Sha.hex(value));
        assertThat(event.getAttributes().get("omittedBecause")).contains("10000");
        assertThat(limited.count()).isEqualTo(1);
    }

    @Test
    void shouldKeepDeadLettersUnderTheEventSizeCapAndSmallOnesWhole() {
        // Given a publisher capping events at 4,096 bytes
        DeadLetterPublisher capped = new DeadLetterPublisher("student-trainer", "kd.dlq", serde.serializer(), clock, 4_096);
        byte[] big = new byte[8_000];
        byte[] tiny = {1, 2, 3};

        // When a large and a small bad record are dead-lettered
        capped.publish(producer, new ConsumerRecord<>("kd.teacher-outputs", 1, 1L, new byte[] {'a'}, big), new UnknownMagicByteException("x"));
        capped.publish(producer, new ConsumerRecord<>("kd.teacher-outputs", 1, 2L, new byte[] {'b'}, tiny), new UnknownMagicByteException("y"));

        // Then the large one fits under the cap without its bytes; the small one keeps them
        assertThat(producer.history().get(0).value().length).isLessThanOrEqualTo(4_096);
        FailureEvent first = serde.deserializer().deserialize("kd.dlq", producer.history().get(0).value());
        assertThat(first.getOriginalValue()).isNull();
        assertThat(first.getAttributes()).containsEntry("originalValueBytes", "8000");
        FailureEvent second = serde.deserializer().deserialize("kd.dlq", producer.history().get(1).value());
        assertThat(bytes(second.getOriginalValue())).isEqualTo(tiny);
        assertThat(second.getAttributes()).doesNotContainKey("originalValueOmitted");
        assertThatThrownBy(() -> new DeadLetterPublisher("c", "t", serde.serializer(), clock, 100))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxEventBytes");
    }

    /** An independent sha256 for the assertions. */
    private static final class Sha {
        static String hex(byte[] b) {
            try {
                StringBuilder sb = new StringBuilder();
                for (byte x : java.security.MessageDigest.getInstance("SHA-256").digest(b)) {
                    sb.append(String.format("%02x", x));
                }
                return sb.toString();
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new AssertionError(e);
            }
        }
    }

    @Test
    void shouldClassifyTensorAndBadRecordFailures() {
        InvalidTensorException shape = null;
        try {
            TensorCodec.validate("input", io.kdstream.avro.Tensor.newBuilder(TensorCodec.fromFloats(new float[4], DType.FLOAT32, 4))
                    .setShape(java.util.List.of(5)).build());
        } catch (InvalidTensorException e) {
            shape = e;
        }
        assertThat(shape).isNotNull();
        assertThat(DeadLetterPublisher.kindOf(shape)).isEqualTo(FailureKind.SHAPE);
        assertThat(DeadLetterPublisher.kindOf(new BadRecordException(FailureKind.NON_FINITE, "NaN pixel"))).isEqualTo(FailureKind.NON_FINITE);
        assertThat(DeadLetterPublisher.kindOf(new IllegalStateException("boom"))).isEqualTo(FailureKind.UNKNOWN);
    }

    @Test
    void shouldSortFailuresIntoRetryDeadLetterOrFatal() {
        assertThat(FailureDisposition.of(new org.apache.kafka.common.errors.TimeoutException("t"))).isEqualTo(FailureDisposition.RETRY);
        assertThat(FailureDisposition.of(new UnknownMagicByteException("m"))).isEqualTo(FailureDisposition.DEAD_LETTER);
        assertThat(FailureDisposition.of(new BadRecordException(FailureKind.SHAPE, "s"))).isEqualTo(FailureDisposition.DEAD_LETTER);
        assertThat(FailureDisposition.of(new org.apache.kafka.common.errors.TopicAuthorizationException("no"))).isEqualTo(FailureDisposition.FATAL);
        assertThat(FailureDisposition.of(new io.kdstream.core.KdException("corrupt checkpoint"))).isEqualTo(FailureDisposition.FATAL);
    }

    @Test
    void shouldTruncateHugeMessagesButKeepThemReadable() {
        String huge = "x".repeat(10_000);
        publisher.publish(producer, FailureKind.MODEL, huge, null, Map.of(), null);

        FailureEvent event = serde.deserializer().deserialize("kd.dlq", producer.history().get(0).value());
        assertThat(event.getMessage()).hasSizeLessThan(2_100).endsWith("...");
        assertThat(event.getSource()).isNull();
        assertThatThrownBy(() -> publisher.publish(producer, null, "m", null, Map.of(), null)).isInstanceOf(NullPointerException.class);
    }

    private static byte[] bytes(java.nio.ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }
}
