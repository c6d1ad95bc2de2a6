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
