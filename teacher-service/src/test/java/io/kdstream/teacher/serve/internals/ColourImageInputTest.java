package io.kdstream.teacher.serve.internals;

import io.kdstream.avro.DType;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.InputRecord;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.avro.Tensor;
import io.kdstream.core.KdException;
import io.kdstream.core.model.ModelStore;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.teacher.ChannelMeanTorchScript;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.TeacherLoader;
import io.kdstream.teacher.TeacherPredictor;
import io.kdstream.teacher.serve.OutputEncoding;
import io.kdstream.teacher.serve.OutputOptions;

import ai.djl.Device;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * A teacher whose input is a colour image ({@code [3, 32, 32]}, declared by its TorchScript sidecar) takes UINT8 and
 * FLOAT32 records of exactly that shape, scales UINT8 by 1/255 in channel-major order, and dead-letters every other
 * shape as SHAPE with both shapes in the reason.
 */
class ColourImageInputTest {

    private static final String TOPIC = "kd.inputs";
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2025-01-02T03:04:05Z"), ZoneOffset.UTC);
    private static final int C = 3;
    private static final int H = 32;
    private static final int W = 32;

    @TempDir
    static Path dir;

    private static Teacher teacher;
    private static KdAvroSerde<InputRecord> serde;

    @BeforeAll
    static void setUp() throws IOException {
        teacher = TeacherLoader.load(ChannelMeanTorchScript.write(dir, "channel_mean", C, H, W), Device.cpu());
        serde = KdAvroSerdes.value(InputRecord.class, Map.of("schema.registry.url", "mock://" + UUID.randomUUID()));
    }

    @AfterAll
    static void tearDown() {
        serde.close();
        teacher.close();
    }

    @Test
    void shouldTakeTheInputShapeFromTheSidecar() {
        assertThat(teacher.metadata().inputShape()).containsExactly(C, H, W);
        assertThat(teacher.metadata().numClasses()).isEqualTo(C);
    }

    @Test
    void shouldSayHowToDeclareTheInputShapeWhenAModuleWithoutMetadataFailsTheDefaultProbe(@TempDir Path bare)
            throws IOException {
        Path module = ChannelMeanTorchScript.write(bare, "colour_only", C, H, W);
        Files.delete(ModelStore.sidecarOf(module));

        assertThatThrownBy(() -> TeacherLoader.load(module, Device.cpu())).isInstanceOf(KdException.class)
                .hasMessageContaining("colour_only.json").hasMessageContaining("inputShape")
                .hasMessageContaining("[1, 28, 28]");
    }

    @Test
    void shouldScoreUint8AndFloatColourImagesOfTheModelShapeChannelByChannel() {
        // channel k of image i is filled with (40 * k + 10 * i), so the channel means are exactly those values / 255
        List<ConsumerRecord<byte[], byte[]>> records = List.of(
                record(0, input("u0", TensorCodec.fromUint8(planes(0), C, H, W))),
                record(1, input("u1", TensorCodec.fromUint8(planes(1), C, H, W))),
                record(2, input("f2", TensorCodec.fromFloats(scaled(planes(2)), DType.FLOAT32, C, H, W))));
        try (TeacherPredictor predictor = teacher.newPredictor()) {
            BatchTransformer t = new BatchTransformer(teacher.metadata(), teacher.info().toAvro(), predictor,
                    OutputOptions.defaults(), serde.deserializer(), 4, CLOCK);

            BatchTransformer.Result result = t.transform(records);

            assertThat(result.failures()).isEmpty();
            assertThat(result.outputs()).hasSize(3);
            for (int i = 0; i < 3; i++) {
                TeacherOutput out = result.outputs().get(i).output();
                assertThat(out.getInput().getShape()).containsExactly(C, H, W);
                float[] logits = OutputEncoding.decodeLogits(out.getLogits(), 0);
                assertThat(logits).hasSize(C);
                for (int k = 0; k < C; k++) {
                    assertThat(logits[k]).as("image %d channel %d", i, k).isCloseTo((40 * k + 10 * i) / 255f, within(1e-5f));
                }
            }
        }
    }

    @Test
    void shouldDeadLetterOtherShapesAsShapeNamingBothShapes() {
        List<ConsumerRecord<byte[], byte[]>> records = List.of(
                record(0, input("hwc", TensorCodec.fromUint8(planes(0), H, W, C))),
                record(1, input("grey", TensorCodec.fromUint8(new byte[28 * 28], 1, 28, 28))),
                record(2, input("flat", TensorCodec.fromUint8(planes(0), C * H * W))),
                record(3, input("good", TensorCodec.fromUint8(planes(3), C, H, W))));
        try (TeacherPredictor predictor = teacher.newPredictor()) {
            BatchTransformer t = new BatchTransformer(teacher.metadata(), teacher.info().toAvro(), predictor,
                    OutputOptions.defaults(), serde.deserializer(), 4, CLOCK);

            BatchTransformer.Result result = t.transform(records);

            assertThat(result.outputs()).extracting(p -> p.output().getInputId()).containsExactly("good");
            assertThat(result.failures()).extracting(BatchTransformer.Failure::kind)
                    .containsExactly(FailureKind.SHAPE, FailureKind.SHAPE, FailureKind.SHAPE);
            assertThat(result.failures().get(0).message()).contains("hwc").contains("[32, 32, 3]").contains("[3, 32, 32]");
            assertThat(result.failures().get(1).message()).contains("grey").contains("[1, 28, 28]").contains("[3, 32, 32]");
            assertThat(result.failures().get(2).message()).contains("flat").contains("[3072]");
        }
    }

    private static byte[] planes(int i) {
        byte[] px = new byte[C * H * W];
        for (int k = 0; k < C; k++) {
            for (int j = 0; j < H * W; j++) {
                px[k * H * W + j] = (byte) (40 * k + 10 * i);
            }
        }
        return px;
    }

    private static float[] scaled(byte[] px) {
        float[] out = new float[px.length];
        for (int j = 0; j < px.length; j++) {
            out[j] = (px[j] & 0xff) / 255f;
        }
        return out;
    }

    private static InputRecord input(String id, Tensor tensor) {
        return InputRecord.newBuilder().setId(id).setSource("test").setInput(tensor).setLabel(null)
                .setTimestampMs(Instant.EPOCH).setAttributes(Map.of()).build();
    }

    private static ConsumerRecord<byte[], byte[]> record(int i, InputRecord input) {
        return new ConsumerRecord<>(TOPIC, 0, 100L + i, input.getId().getBytes(StandardCharsets.UTF_8),
                serde.serializer().serialize(TOPIC, input));
    }
}
