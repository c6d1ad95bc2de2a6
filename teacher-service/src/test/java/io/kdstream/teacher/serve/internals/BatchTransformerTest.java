package io.kdstream.teacher.serve.internals;

import io.kdstream.avro.DType;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.InputRecord;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.avro.Tensor;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.teacher.BatchOutput;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.TeacherLoader;
import io.kdstream.teacher.TeacherPredictor;
import io.kdstream.teacher.serve.OutputEncoding;
import io.kdstream.teacher.serve.OutputOptions;
import io.kdstream.teacher.serve.TeacherViews;

import ai.djl.Device;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class BatchTransformerTest {

    private static final String TOPIC = "kd.inputs";
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2025-01-02T03:04:05Z"), ZoneOffset.UTC);
    private static Teacher teacher;
    private static KdAvroSerde<InputRecord> serde;

    @BeforeAll
    static void setUp() throws URISyntaxException {
        teacher = TeacherLoader.load(Path.of(BatchTransformerTest.class.getResource("/torchscript/tiny_teacher.pt").toURI()), Device.cpu());
        serde = KdAvroSerdes.value(InputRecord.class, Map.of("schema.registry.url", "mock://" + UUID.randomUUID()));
    }

    @AfterAll
    static void tearDown() {
        serde.close();
        teacher.close();
    }

    @Test
    void shouldPublishLogitsFeaturesIdentityAndCoordinatesForGoodInputs() {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            records.add(record(i, serde.serializer().serialize(TOPIC, input("x" + i, image(i), i % 10))));
        }
        try (TeacherPredictor predictor = teacher.newPredictor()) {
            BatchTransformer t = new BatchTransformer(teacher.metadata(), teacher.info().toAvro(), predictor,
                    OutputOptions.defaults(), serde.deserializer(), 2, CLOCK);

            BatchTransformer.Result result = t.transform(records);

            assertThat(result.failures()).isEmpty();
            assertThat(result.batchSizes()).containsExactly(2, 2, 1);
            assertThat(result.outputs()).hasSize(5);
            float[] direct = new float[784];
            for (int i = 0; i < 5; i++) {
                TeacherOutput out = result.outputs().get(i).output();
                assertThat(out.getInputId()).isEqualTo("x" + i);
                assertThat(out.getLabel()).isEqualTo(i % 10);
                assertThat(out.getInput().getDtype()).isEqualTo(DType.UINT8);
                assertThat(out.getTeacher().getSha256()).isEqualTo(teacher.info().sha256());
                assertThat(out.getSource().getTopic()).isEqualTo(TOPIC);
                assertThat(out.getSource().getOffset()).isEqualTo(100L + i);
                assertThat(out.getProducedAtMs()).isEqualTo(CLOCK.instant());
                assertThat(out.getFeatures()).extracting(f -> f.getName() + "/" + f.getStride() + "/" + f.getTensor().getShape())
                        .containsExactly("conv2/4/[8, 7, 7]", "embedding/0/[16]");
                byte[] px = image(i);
                for (int j = 0; j < 784; j++) {
                    direct[j] = (px[j] & 0xff) / 255f;
                }
                BatchOutput alone = predictor.predict(direct, 1);
                float[] published = OutputEncoding.decodeLogits(out.getLogits(), 0);
                for (int c = 0; c < 10; c++) {
                    assertThat(published[c]).isCloseTo(alone.logits(0)[c], within(1e-5f));
                }
            }
        }
    }

    @Test
    void shouldPublishEveryViewOfAnInputWithTheTensorTheTeacherScoredAndItsParameters() {
        TeacherViews views = new TeacherViews(3, 2, true, 5);
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            records.add(record(i, serde.serializer().serialize(TOPIC, input("v" + i, image(i), i % 10))));
        }
        try (TeacherPredictor predictor = teacher.newPredictor()) {
            // a batch of 7 slots holds two inputs' views (6): the views of one input never straddle two batches
            BatchTransformer t = new BatchTransformer(teacher.metadata(), teacher.info().toAvro(), predictor,
                    OutputOptions.defaults(), serde.deserializer(), 7, CLOCK, views);

            BatchTransformer.Result result = t.transform(records);

            assertThat(result.failures()).isEmpty();
            assertThat(result.batchSizes()).containsExactly(6, 6, 3);
            assertThat(result.outputs()).hasSize(15);
            float[] scaled = new float[784];
            for (int i = 0; i < 5; i++) {
                for (int k = 0; k < 3; k++) {
                    TeacherOutput out = result.outputs().get(3 * i + k).output();
                    assertThat(out.getInputId()).isEqualTo("v" + i);
                    assertThat(out.getLabel()).isEqualTo(i % 10);
                    TeacherViews.View view = TeacherViews.View.fromAttributes(out.getAttributes());
                    assertThat(view).isEqualTo(views.view("v" + i, k));
                    assertThat(out.getAttributes()).containsEntry(TeacherViews.VIEWS_ATTRIBUTE, "3");
                    // the published tensor is the view of the input, and its logits are the teacher's on exactly it
                    byte[] pixels = view.apply(image(i), 1, 28, 28);
                    assertThat(TensorCodec.toUint8("input", out.getInput())).containsExactly(pixels);
                    for (int j = 0; j < 784; j++) {
                        scaled[j] = (pixels[j] & 0xff) / 255f;
                    }
                    float[] alone = predictor.predict(scaled, 1).logits(0);
                    float[] published = OutputEncoding.decodeLogits(out.getLogits(), 0);
                    for (int c = 0; c < 10; c++) {
                        assertThat(published[c]).isCloseTo(alone[c], within(1e-5f));
                    }
                }
            }
        }
    }

    @Test
    void shouldDeadLetterAnInputOnceWhenOneOfItsViewsHasNonFiniteLogits() {
        // the fixture teacher returns NaN logits for an all-white image: every view of it is white or shifted white
        List<ConsumerRecord<byte[], byte[]>> records = List.of(
                record(0, serde.serializer().serialize(TOPIC, input("white", filledBytes((byte) 255), 1))),
                record(1, serde.serializer().serialize(TOPIC, input("fine", image(3), 2))));
        try (TeacherPredictor predictor = teacher.newPredictor()) {
            BatchTransformer t = new BatchTransformer(teacher.metadata(), teacher.info().toAvro(), predictor,
                    OutputOptions.defaults(), serde.deserializer(), 8, CLOCK, new TeacherViews(2, 2, true, 0));

            BatchTransformer.Result result = t.transform(records);

            assertThat(result.failures()).hasSize(1);
            assertThat(result.failures().get(0).kind()).isEqualTo(FailureKind.NON_FINITE);
            assertThat(result.outputs()).extracting(p -> p.output().getInputId()).containsExactly("fine", "fine");
        }
    }

    @Test
    void shouldSortEveryKindOfBadInputIntoItsFailureKindAndKeepTheGoodOnes() {
        byte[] good = serde.serializer().serialize(TOPIC, input("good", image(1), 3));
        byte[] unknownSchema = good.clone();
        ByteBuffer.wrap(unknownSchema, 1, 4).putInt(987_654);
        byte[] nanPixels = serde.serializer().serialize(TOPIC, input("nan",
                TensorCodec.fromFloats(filled(784, Float.NaN, 7), DType.FLOAT32, 28, 28), 1));
        // the fixture teacher returns NaN logits for an all-white image
        byte[] whiteImage = serde.serializer().serialize(TOPIC, input("white", filledBytes((byte) 255), 1));
        byte[] wrongShape = serde.serializer().serialize(TOPIC, input("shape", TensorCodec.fromUint8(new byte[100], 10, 10), 1));
        byte[] wrongDtype = serde.serializer().serialize(TOPIC, input("dtype", TensorCodec.fromInts(new int[784], 28, 28), 1));
        List<ConsumerRecord<byte[], byte[]>> records = List.of(
                record(0, new byte[] {0, 0, 0, 0}), record(1, unknownSchema), record(2, good), record(3, nanPixels),
                record(4, whiteImage), record(5, wrongShape), record(6, wrongDtype), record(7, "garbage".getBytes()),
                record(8, null));
        try (TeacherPredictor predictor = teacher.newPredictor()) {
            BatchTransformer t = new BatchTransformer(teacher.metadata(), teacher.info().toAvro(), predictor,
                    OutputOptions.defaults(), serde.deserializer(), 4, CLOCK);

            BatchTransformer.Result result = t.transform(records);

            assertThat(result.outputs()).extracting(p -> p.output().getInputId()).containsExactly("good");
            assertThat(result.failures()).extracting(f -> f.source().offset() - 100 + ":" + f.kind()).containsExactlyInAnyOrder(
                    "0:DESERIALIZATION", "1:SCHEMA", "3:NON_FINITE", "4:NON_FINITE", "5:SHAPE", "6:DTYPE",
                    "7:DESERIALIZATION", "8:DESERIALIZATION");
            assertThat(result.failures()).filteredOn(f -> f.source().offset() == 104).singleElement()
                    .satisfies(f -> assertThat(f.message()).contains("white").contains("teacher's logits"));
            assertThat(result.failures()).filteredOn(f -> f.source().offset() == 103).singleElement()
                    .satisfies(f -> assertThat(f.message()).contains("pixels"));
        }
    }

    @Test
    void shouldProduceTheSameBatchesOutputsAndFailuresWithThePipelineAsWithout() {
        // Given 75 records: good images, bad ones (undecodable, NaN pixels) and all-white ones whose logits are NaN
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (int i = 0; i < 75; i++) {
            byte[] value = i % 17 == 5 ? "garbage".getBytes()
                    : i % 23 == 7 ? serde.serializer().serialize(TOPIC, input("nan" + i,
                            TensorCodec.fromFloats(filled(784, Float.NaN, 3), DType.FLOAT32, 28, 28), 1))
                    : i % 31 == 11 ? serde.serializer().serialize(TOPIC, input("white" + i, filledBytes((byte) 255), 2))
                    : serde.serializer().serialize(TOPIC, input("x" + i, image(i), i % 10));
            records.add(record(i, value));
        }
        try (TeacherPredictor predictor = teacher.newPredictor();
             BatchTransformer sequential = new BatchTransformer(teacher.metadata(), teacher.info().toAvro(), predictor,
                     OutputOptions.defaults(), serde.deserializer(), 8, CLOCK);
             BatchTransformer pipelined = new BatchTransformer(teacher.metadata(), teacher.info().toAvro(), predictor,
                     OutputOptions.defaults(), serde.deserializer(), 8, CLOCK, TeacherViews.NONE, "test-inference")) {
            // When both transform them, the pipelined one twice (its slots are reused across calls)
            BatchTransformer.Result a = sequential.transform(records);
            BatchTransformer.Result b = pipelined.transform(records);
            BatchTransformer.Result c = pipelined.transform(records);

            // Then the inference batches, the failures (dead letters of one transaction: a NaN output is found when its
            // batch is encoded, later with the pipeline) and the encoded outputs, in order and byte for byte, are the same
            assertThat(a.outputs()).hasSizeGreaterThan(60);
            assertThat(a.failures()).hasSizeGreaterThanOrEqualTo(6);
            for (BatchTransformer.Result r : List.of(b, c)) {
                assertThat(r.batchSizes()).containsExactly(a.batchSizes());
                assertThat(r.failures()).extracting(f -> f.source().offset() + ":" + f.kind())
                        .containsExactlyInAnyOrderElementsOf(a.failures().stream().map(f -> f.source().offset() + ":" + f.kind()).toList());
                assertThat(r.outputs()).hasSameSizeAs(a.outputs());
                for (int i = 0; i < a.outputs().size(); i++) {
                    assertThat(serde(r.outputs().get(i).output())).as("output " + i).isEqualTo(serde(a.outputs().get(i).output()));
                }
            }
        }
    }

    private static byte[] serde(TeacherOutput output) {
        try (KdAvroSerde<TeacherOutput> out = KdAvroSerdes.value(TeacherOutput.class, Map.of("schema.registry.url", "mock://pipeline-test"))) {
            return out.serializer().serialize("out", output);
        }
    }

    @Test
    void shouldApplyTopKFloat16AndFeatureSelectionAndOmitInputAndLabelWhenAsked() {
        OutputOptions options = new OutputOptions(DType.FLOAT16, 3, DType.FLOAT16,
                OutputOptions.FeatureSelection.of(List.of("embedding")), false, false);
        try (TeacherPredictor predictor = teacher.newPredictor()) {
            BatchTransformer t = new BatchTransformer(teacher.metadata(), teacher.info().toAvro(), predictor, options,
                    serde.deserializer(), 8, CLOCK);
            TeacherOutput out = t.transform(List.of(record(0, serde.serializer().serialize(TOPIC, input("a", image(2), 4)))))
                    .outputs().get(0).output();
            assertThat(out.getInput()).isNull();
            assertThat(out.getLabel()).isNull();
            assertThat(out.getLogits().getValues().getDtype()).isEqualTo(DType.FLOAT16);
            assertThat(out.getLogits().getIndices().getShape()).containsExactly(3);
            assertThat(out.getFeatures()).extracting(f -> f.getName()).containsExactly("embedding");
            assertThat(out.getFeatures().get(0).getTensor().getDtype()).isEqualTo(DType.FLOAT16);
        }
    }

    static InputRecord input(String id, Tensor tensor, Integer label) {
        return InputRecord.newBuilder().setId(id).setSource("test").setInput(tensor).setLabel(label)
                .setTimestampMs(Instant.EPOCH).setAttributes(Map.of()).build();
    }

    static InputRecord input(String id, byte[] pixels, Integer label) {
        return input(id, TensorCodec.fromUint8(pixels, 28, 28), label);
    }

    static byte[] image(int seed) {
        byte[] px = new byte[784];
        for (int j = 0; j < px.length; j++) {
            px[j] = (byte) ((seed * 7919 + j * 37) % 256);
        }
        return px;
    }

    static byte[] filledBytes(byte value) {
        byte[] px = new byte[784];
        Arrays.fill(px, value);
        return px;
    }

    private static float[] filled(int n, float value, int at) {
        float[] a = new float[n];
        if (at < 0) {
            Arrays.fill(a, value);
        } else {
            a[at] = value;
        }
        return a;
    }

    private static ConsumerRecord<byte[], byte[]> record(int i, byte[] value) {
        return new ConsumerRecord<>(TOPIC, 0, 100L + i, ("k" + i).getBytes(), value);
    }
}
