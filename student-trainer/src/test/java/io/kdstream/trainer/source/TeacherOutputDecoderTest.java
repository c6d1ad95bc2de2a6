package io.kdstream.trainer.source;

import io.kdstream.avro.DType;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.Logits;
import io.kdstream.avro.TeacherInfo;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.core.data.LabelSelection;
import io.kdstream.core.kafka.BadRecordException;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TeacherOutputDecoderTest {
    private static final String TOPIC = "kd.teacher-outputs";

    private KdAvroSerde<TeacherOutput> serde;

    @BeforeEach
    void setUp() {
        serde = KdAvroSerdes.value(TeacherOutput.class, Map.of("schema.registry.url", "mock://" + UUID.randomUUID()));
    }

    @AfterEach
    void tearDown() {
        serde.close();
    }

    private ConsumerRecord<byte[], byte[]> record(String id, Integer label, long offset) {
        float[] logits = {0, 1, 5, 0, 0, 0, 0, 0, 0, 0};
        TeacherOutput t = TeacherOutput.newBuilder().setInputId(id).setInput(TensorCodec.fromUint8(new byte[784], 1, 28, 28))
                .setLabel(label).setLabels(null).setTeacher(new TeacherInfo("t", "1", "ab".repeat(32)))
                .setLogits(new Logits(10, TensorCodec.fromFloats(logits, DType.FLOAT32, 10), null)).setFeatures(List.of())
                .setSource(new io.kdstream.avro.SourceCoordinates("kd.inputs", 0, 0L)).setProducedAtMs(Instant.ofEpochMilli(0)).setAttributes(Map.of()).build();
        return new ConsumerRecord<>(TOPIC, 1, offset, id.getBytes(StandardCharsets.UTF_8), serde.serializer().serialize(TOPIC, t));
    }

    private TeacherOutputDecoder decoder(boolean withTeacher, double fraction) {
        return new TeacherOutputDecoder(serde.deserializer(), 784, 10, withTeacher, false, new LabelSelection(fraction, 3));
    }

    @Test
    void shouldDistilFromATeacherOutputWithoutALabel() {
        Example e = decoder(true, 1.0).decode(record("a", null, 4));

        assertThat(e.skipped()).isFalse();
        assertThat(e.label()).isEqualTo(InputRecordDecoder.UNLABELLED);
        assertThat(e.logits()).containsExactly(0, 1, 5, 0, 0, 0, 0, 0, 0, 0);
    }

    @Test
    void shouldPassOverUnlabelledRecordsInALabelsOnlyRunAndCountThem() {
        TeacherOutputDecoder baseline = decoder(false, 1.0);

        Example unlabelled = baseline.decode(record("a", null, 4));
        Example labelled = baseline.decode(record("b", 6, 5));

        assertThat(unlabelled.skipped()).isTrue();
        assertThat(unlabelled.partition()).isEqualTo(1);
        assertThat(unlabelled.offset()).isEqualTo(4);
        assertThat(labelled.skipped()).isFalse();
        assertThat(labelled.label()).isEqualTo(6);
        assertThat(labelled.logits()).isNull();
        assertThat(baseline.skippedUnlabelled()).isEqualTo(1);
    }

    @Test
    void shouldPassOverRecordsWhoseLabelTheSelectionDropsInALabelsOnlyRun() {
        LabelSelection selection = new LabelSelection(0.3, 3);
        TeacherOutputDecoder baseline = decoder(false, 0.3);
        long dropped = 0;
        for (int i = 0; i < 40; i++) {
            String id = "id-" + i;
            Example e = baseline.decode(record(id, 2, i));
            assertThat(e.skipped()).as(id).isEqualTo(!selection.keeps(id));
            dropped += selection.keeps(id) ? 0 : 1;
        }
        assertThat(baseline.skippedUnlabelled()).isEqualTo(dropped).isPositive();
    }

    @Test
    void shouldKeepUint8PixelsAsTheRecordsBytesUntilTheBatchIsAssembledAndScaleThemThenExactly() {
        byte[] px = new byte[784];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) (i * 7);
        }
        float[] logits = {0, 1, 5, 0, 0, 0, 0, 0, 0, 0};
        TeacherOutput t = TeacherOutput.newBuilder().setInputId("p").setInput(TensorCodec.fromUint8(px, 1, 28, 28))
                .setLabel(4).setLabels(null).setTeacher(new TeacherInfo("t", "1", "ab".repeat(32)))
                .setLogits(new Logits(10, TensorCodec.fromFloats(logits, DType.FLOAT32, 10), null)).setFeatures(List.of())
                .setSource(new io.kdstream.avro.SourceCoordinates("kd.inputs", 0, 0L)).setProducedAtMs(Instant.ofEpochMilli(0))
                .setAttributes(Map.of()).build();
        Example e = decoder(true, 1.0).decode(new ConsumerRecord<>(TOPIC, 1, 9, "p".getBytes(StandardCharsets.UTF_8),
                serde.serializer().serialize(TOPIC, t)));

        // decoded: the record's 784 bytes, not 784 floats
        assertThat(e.input()).isNull();
        assertThat(e.pixels().remaining()).isEqualTo(784);
        assertThat(e.skipped()).isFalse();
        // assembled: each byte v becomes exactly the float v / 255, at its place in the batch
        Batch b = BatchAssembler.assemble(TOPIC, 0, List.of(e, e), 784, 10, null, Map.of(), 0, 0, null);
        for (int row = 0; row < 2; row++) {
            for (int i = 0; i < 784; i++) {
                float expected = (float) (px[i] & 0xff) / 255f;
                assertThat(Float.floatToRawIntBits(b.inputs()[row * 784 + i])).as("row " + row + " pixel " + i)
                        .isEqualTo(Float.floatToRawIntBits(expected));
            }
        }
        // a float input takes the float path and is checked for finiteness there
        TeacherOutput f = TeacherOutput.newBuilder(t).setInput(TensorCodec.fromFloats(new float[784], DType.FLOAT32, 1, 28, 28)).build();
        Example fe = decoder(true, 1.0).decode(new ConsumerRecord<>(TOPIC, 1, 10, "f".getBytes(StandardCharsets.UTF_8),
                serde.serializer().serialize(TOPIC, f)));
        assertThat(fe.pixels()).isNull();
        assertThat(fe.input()).hasSize(784);
    }

    @Test
    void shouldStillDeadLetterALabelOutOfRange() {
        assertThatThrownBy(() -> decoder(true, 1.0).decode(record("a", 10, 0)))
                .isInstanceOfSatisfying(BadRecordException.class, e -> assertThat(e.kind()).isEqualTo(FailureKind.SHAPE));
    }
}
