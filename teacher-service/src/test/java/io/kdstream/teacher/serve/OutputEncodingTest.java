package io.kdstream.teacher.serve;

import io.kdstream.avro.DType;
import io.kdstream.avro.FeatureMap;
import io.kdstream.avro.Logits;
import io.kdstream.core.zoo.FeatureSpec;
import io.kdstream.schemas.tensor.TensorCodec;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class OutputEncodingTest {

    private static final float[] LOGITS = {0.5f, 3.25f, -1f, 3.25f, 2f, -7.5f, 0f, 1.125f, 9f, -0.25f};

    @Test
    void shouldEncodeDenseFloat32LogitsExactly() {
        Logits l = OutputEncoding.encodeLogits(LOGITS, DType.FLOAT32, 0);
        assertThat(l.getNumClasses()).isEqualTo(10);
        assertThat(l.getIndices()).isNull();
        assertThat(l.getValues().getShape()).containsExactly(10);
        assertThat(OutputEncoding.decodeLogits(l, Float.NaN)).containsExactly(LOGITS);
    }

    @Test
    void shouldKeepTheTopKLogitsInDescendingOrderWithTiesByClass() {
        Logits l = OutputEncoding.encodeLogits(LOGITS, DType.FLOAT32, 3);
        assertThat(l.getNumClasses()).isEqualTo(10);
        assertThat(TensorCodec.toInts("i", l.getIndices())).containsExactly(8, 1, 3);
        assertThat(TensorCodec.toFloats("v", l.getValues())).containsExactly(9f, 3.25f, 3.25f);

        float[] decoded = OutputEncoding.decodeLogits(l, Float.NEGATIVE_INFINITY);
        assertThat(decoded[8]).isEqualTo(9f);
        assertThat(decoded[1]).isEqualTo(3.25f);
        assertThat(decoded[3]).isEqualTo(3.25f);
        assertThat(decoded[4]).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(decoded).hasSize(10);
    }

    @Test
    void shouldRoundTripFloat16LogitsWithinHalfPrecision() {
        float[] logits = new float[100];
        Random r = new Random(5);
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) (r.nextGaussian() * 8);
        }
        Logits dense = OutputEncoding.encodeLogits(logits, DType.FLOAT16, 0);
        Logits top = OutputEncoding.encodeLogits(logits, DType.FLOAT16, 5);
        assertThat(dense.getValues().getDtype()).isEqualTo(DType.FLOAT16);
        assertThat(dense.getValues().getData().remaining()).isEqualTo(200);
        float[] back = OutputEncoding.decodeLogits(dense, 0);
        for (int i = 0; i < logits.length; i++) {
            assertThat(back[i]).isCloseTo(logits[i], within(Math.abs(logits[i]) / 1024f + 1e-4f));
        }
        float[] topBack = OutputEncoding.decodeLogits(top, Float.NEGATIVE_INFINITY);
        assertThat(java.util.stream.IntStream.range(0, 100).filter(i -> Float.isFinite(topBack[i])).count()).isEqualTo(5);
    }

    @Test
    void shouldCarryFeatureNameStrideAndShapeInEveryPrecision() {
        FeatureSpec spec = FeatureSpec.map("conv3", 4, 2, 2, 2);
        float[] values = {0.1f, -0.2f, 0.3f, 100.5f, 0f, 1e-3f, -7f, 2.5f};
        for (DType dtype : new DType[] {DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16}) {
            FeatureMap f = OutputEncoding.encodeFeature(spec, values, dtype);
            assertThat(f.getName()).isEqualTo("conv3");
            assertThat(f.getStride()).isEqualTo(4);
            assertThat(f.getTensor().getShape()).containsExactly(2, 2, 2);
            assertThat(f.getTensor().getDtype()).isEqualTo(dtype);
            float[] back = TensorCodec.toFloats("f", f.getTensor());
            float tol = dtype == DType.FLOAT32 ? 0f : dtype == DType.FLOAT16 ? 1f / 1024 : 1f / 128;
            for (int i = 0; i < values.length; i++) {
                assertThat(back[i]).as(dtype + " #" + i).isCloseTo(values[i], within(Math.abs(values[i]) * tol + 1e-6f));
            }
        }
        FeatureMap emb = OutputEncoding.encodeFeature(FeatureSpec.embedding("embedding", 3), new float[] {1, 2, 3}, DType.FLOAT32);
        assertThat(emb.getStride()).isZero();
        assertThat(emb.getTensor().getShape()).containsExactly(3);
    }

    @Test
    void shouldDetectNonFiniteValues() {
        assertThat(OutputEncoding.allFinite(new float[] {1, 2})).isTrue();
        assertThat(OutputEncoding.allFinite(new float[] {1, Float.NaN})).isFalse();
        assertThat(OutputEncoding.allFinite(new float[] {Float.POSITIVE_INFINITY})).isFalse();
    }
}
