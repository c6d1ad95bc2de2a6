package io.kdstream.trainer.source;

import io.kdstream.core.data.LabelSelection;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.InputRecord;
import io.kdstream.core.kafka.BadRecordException;
import io.kdstream.core.kafka.FailureDisposition;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class InputRecordDecoderTest {
    private static final String TOPIC = "kd.inputs";

    private KdAvroSerde<InputRecord> serde;

    @BeforeEach
    void setUp() {
        serde = KdAvroSerdes.value(InputRecord.class, Map.of("schema.registry.url", "mock://" + UUID.randomUUID()));
    }

    @AfterEach
    void tearDown() {
        serde.close();
    }

    private ConsumerRecord<byte[], byte[]> record(String id, byte[] pixels, Integer label) {
        InputRecord r = InputRecord.newBuilder().setId(id).setSource("test").setInput(pixels.length == 784 ? TensorCodec.fromUint8(pixels, 28, 28) : TensorCodec.fromUint8(pixels, pixels.length))
                .setLabel(label).setLabels(null).setTimestampMs(Instant.ofEpochMilli(0)).setAttributes(Map.of()).build();
        return new ConsumerRecord<>(TOPIC, 0, 5, id.getBytes(StandardCharsets.UTF_8), serde.serializer().serialize(TOPIC, r));
    }

    private InputRecordDecoder decoder(double fraction) {
        return new InputRecordDecoder(serde.deserializer(), 784, 10, new LabelSelection(fraction, 42));
    }

    @Test
    void shouldDecodeAnInputRecordIntoAScaledLabelledExample() {
        byte[] pixels = new byte[784];
        pixels[3] = (byte) 255;
        Example e = decoder(1.0).decode(record("a", pixels, 7));
        assertThat(e.label()).isEqualTo(7);
        assertThat(e.input()[3]).isEqualTo(1f);
        assertThat(e.logits()).isNull();
        assertThat(e.offset()).isEqualTo(5);
    }

    @Test
    void shouldTrainRecordsWithoutALabelOrWhoseLabelIsDroppedAsUnlabelled() {
        assertThat(decoder(1.0).decode(record("a", new byte[784], null)).label()).isEqualTo(InputRecordDecoder.UNLABELLED);
        LabelSelection selection = new LabelSelection(0.5, 42);
        InputRecordDecoder half = decoder(0.5);
        for (int i = 0; i < 50; i++) {
            String id = "id-" + i;
            int expected = selection.keeps(id) ? 3 : InputRecordDecoder.UNLABELLED;
            assertThat(half.decode(record(id, new byte[784], 3)).label()).isEqualTo(expected);
        }
    }

    @Test
    void shouldClassifyBadRecordsForTheDeadLetterTopic() {
        InputRecordDecoder d = decoder(1.0);
        assertThatThrownBy(() -> d.decode(record("a", new byte[784], 12)))
                .isInstanceOfSatisfying(BadRecordException.class, e -> assertThat(e.kind()).isEqualTo(FailureKind.SHAPE));
        Throwable wrongSize = org.assertj.core.api.Assertions.catchThrowable(() -> d.decode(record("b", new byte[10], 1)));
        assertThat(FailureDisposition.of(wrongSize)).isEqualTo(FailureDisposition.DEAD_LETTER);
        Throwable garbage = org.assertj.core.api.Assertions.catchThrowable(() -> d.decode(
                new ConsumerRecord<>(TOPIC, 0, 1, null, "not avro".getBytes(StandardCharsets.UTF_8))));
        assertThat(FailureDisposition.of(garbage)).isEqualTo(FailureDisposition.DEAD_LETTER);
        Throwable tombstone = org.assertj.core.api.Assertions.catchThrowable(() -> d.decode(new ConsumerRecord<>(TOPIC, 0, 2, null, null)));
        assertThat(FailureDisposition.of(tombstone)).isEqualTo(FailureDisposition.DEAD_LETTER);
    }

    private ConsumerRecord<byte[], byte[]> shaped(String id, int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        InputRecord r = InputRecord.newBuilder().setId(id).setSource("test").setInput(TensorCodec.fromUint8(new byte[n], shape))
                .setLabel(1).setLabels(null).setTimestampMs(Instant.ofEpochMilli(0)).setAttributes(Map.of()).build();
        return new ConsumerRecord<>(TOPIC, 0, 5, id.getBytes(StandardCharsets.UTF_8), serde.serializer().serialize(TOPIC, r));
    }

    @Test
    void shouldDeadLetterAnInputOfTheRightSizeButAnotherShapeWhenTheStudentHasAShape() {
        // a spec student on [3, 8, 8]: an HWC image of the same size is refused, naming both shapes
        InputRecordDecoder strict = new InputRecordDecoder(serde.deserializer(), 192, 5, LabelSelection.ALL, java.util.List.of(3, 8, 8));
        assertThat(strict.decode(shaped("chw", 3, 8, 8)).input()).hasSize(192);
        assertThatThrownBy(() -> strict.decode(shaped("hwc", 8, 8, 3)))
                .isInstanceOfSatisfying(BadRecordException.class, e -> assertThat(e.kind()).isEqualTo(FailureKind.SHAPE))
                .hasMessageContaining("hwc").hasMessageContaining("[8, 8, 3]").hasMessageContaining("[3, 8, 8]");
        // a one-channel student takes [H, W] inputs; a zoo student (no shape) takes any shape of its size, as before
        InputRecordDecoder grey = new InputRecordDecoder(serde.deserializer(), 64, 5, LabelSelection.ALL, java.util.List.of(1, 8, 8));
        assertThat(grey.decode(shaped("hw", 8, 8)).input()).hasSize(64);
        InputRecordDecoder any = new InputRecordDecoder(serde.deserializer(), 192, 5, LabelSelection.ALL);
        assertThat(any.decode(shaped("hwc", 8, 8, 3)).input()).hasSize(192);
    }
}
