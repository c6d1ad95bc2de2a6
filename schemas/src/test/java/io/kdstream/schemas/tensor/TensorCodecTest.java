package io.kdstream.schemas.tensor;

import io.kdstream.avro.DType;
import io.kdstream.avro.Tensor;
import io.kdstream.schemas.tensor.InvalidTensorException.Reason;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class TensorCodecTest {

    // ------------------------------------------------------------------ round trips per dtype

    @Test
    void shouldRoundTripFloat32ExactlyAndLittleEndian() {
        float[] values = {1.0f, -2.5f, Float.MIN_VALUE, Float.MAX_VALUE, -0.0f, 3.14159f};
        Tensor t = TensorCodec.fromFloats(values, DType.FLOAT32, 2, 3);

        assertThat(t.getDtype()).isEqualTo(DType.FLOAT32);
        assertThat(t.getShape()).containsExactly(2, 3);
        assertThat(t.getData().remaining()).isEqualTo(24);
        assertThat(bytes(t).length).isEqualTo(24);
        // 1.0f = 0x3F800000, little-endian first
        assertThat(Arrays.copyOf(bytes(t), 4)).containsExactly(0x00, 0x00, (byte) 0x80, 0x3F);
        float[] back = TensorCodec.toFloats("x", t);
        for (int i = 0; i < values.length; i++) {
            assertThat(Float.floatToRawIntBits(back[i])).isEqualTo(Float.floatToRawIntBits(values[i]));
        }
    }

    @Test
    void shouldRoundTripUint8AsUnsigned() {
        byte[] values = {0, 1, (byte) 127, (byte) 128, (byte) 255};
        Tensor t = TensorCodec.fromUint8(values, 5);

        assertThat(TensorCodec.toUint8("img", t)).containsExactly(values);
        assertThat(TensorCodec.toFloats("img", t)).containsExactly(0f, 1f, 127f, 128f, 255f);
    }

    @Test
    void shouldRoundTripInt32AndInt64() {
        int[] ints = {0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE};
        long[] longs = {0L, -1L, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 40};
        Tensor ti = TensorCodec.fromInts(ints, 2, 2);
        Tensor tl = TensorCodec.fromLongs(longs, 5);

        assertThat(TensorCodec.toInts("i", ti)).containsExactly(ints);
        assertThat(TensorCodec.toLongs("l", tl)).containsExactly(longs);
        assertThat(bytes(ti)).startsWith(0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff);
        assertThat(TensorCodec.toFloats("l", tl)[4]).isEqualTo((float) (1L << 40));
        assertThat(TensorCodec.toFloats("i", ti)[1]).isEqualTo(-1f);
    }

    @Test
    void shouldEncodeFloat16AndBfloat16AsTwoBytesPerElement() {
        Tensor half = TensorCodec.fromFloats(new float[] {1.0f, -2.0f}, DType.FLOAT16, 2);
        Tensor bf = TensorCodec.fromFloats(new float[] {1.0f, -2.0f}, DType.BFLOAT16, 2);

        assertThat(bytes(half)).containsExactly(0x00, 0x3C, 0x00, (byte) 0xC0);
        assertThat(bytes(bf)).containsExactly((byte) 0x80, 0x3F, 0x00, (byte) 0xC0);
        assertThat(TensorCodec.toFloats("h", half)).containsExactly(1.0f, -2.0f);
        assertThat(TensorCodec.toFloats("b", bf)).containsExactly(1.0f, -2.0f);
    }

    @Test
    void shouldTreatEmptyShapeAsScalarAndZeroDimensionAsEmpty() {
        Tensor scalar = TensorCodec.fromFloats(new float[] {7f}, DType.FLOAT32);
        Tensor empty = TensorCodec.fromInts(new int[0], 3, 0);

        assertThat(scalar.getShape()).isEmpty();
        assertThat(TensorCodec.toFloats("s", scalar)).containsExactly(7f);
        assertThat(TensorCodec.toInts("e", empty)).isEmpty();
        assertThat(TensorCodec.numElements("e", List.of(3, 0))).isZero();
    }

    @Test
    void shouldReadFromTheDataBufferPositionWithoutMovingIt() {
        ByteBuffer data = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
        data.position(2);
        data.putInt(2, 42).putInt(6, -7);
        Tensor t = new Tensor(DType.INT32, List.of(2), data);

        assertThat(TensorCodec.toInts("p", t)).containsExactly(42, -7);
        assertThat(data.position()).isEqualTo(2);
    }

    @Test
    void shouldWriteFloatsIntoDestinationAtOffset() {
        Tensor t = TensorCodec.fromUint8(new byte[] {1, 2, 3}, 3);
        float[] dst = new float[5];

        TensorCodec.toFloats("row", t, dst, 2);

        assertThat(dst).containsExactly(0f, 0f, 1f, 2f, 3f);
        assertThatThrownBy(() -> TensorCodec.toFloats("row", t, dst, 3))
                .isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("row");
    }

    // ------------------------------------------------------------------ float16 bit patterns

    @Test
    void shouldConvertFloatToHalfWithHandComputedBitPatterns() {
        assertThat(half(1.0f)).isEqualTo(0x3C00);
        assertThat(half(-2.0f)).isEqualTo(0xC000);
        assertThat(half(0.0f)).isEqualTo(0x0000);
        assertThat(half(-0.0f)).isEqualTo(0x8000);
        assertThat(half(65504f)).isEqualTo(0x7BFF);                  // largest finite half
        assertThat(half(65519.996f)).isEqualTo(0x7BFF);              // just below the tie to infinity
        assertThat(half(65520f)).isEqualTo(0x7C00);                  // tie: rounds to even, which is infinity
        assertThat(half(1e6f)).isEqualTo(0x7C00);
        assertThat(half(Float.POSITIVE_INFINITY)).isEqualTo(0x7C00);
        assertThat(half(Float.NEGATIVE_INFINITY)).isEqualTo(0xFC00);
        assertThat(half(0x1p-14f)).isEqualTo(0x0400);                // smallest normal
        assertThat(half(0x1p-24f)).isEqualTo(0x0001);                // smallest subnormal
        assertThat(half(1023 * 0x1p-24f)).isEqualTo(0x03FF);         // largest subnormal
        assertThat(half(0x1p-25f)).isEqualTo(0x0000);                // tie between 0 and 2^-24: even is 0
        assertThat(half(Math.nextUp(0x1p-25f))).isEqualTo(0x0001);   // just above the tie
        assertThat(half(1.5f * 0x1p-24f)).isEqualTo(0x0002);         // tie between 1 and 2 units: even is 2
        assertThat(half(2.5f * 0x1p-24f)).isEqualTo(0x0002);         // tie between 2 and 3 units: even is 2
        assertThat(half(1.0f + 0x1p-11f)).isEqualTo(0x3C00);         // tie between 0x3C00 and 0x3C01: even
        assertThat(half(1.0f + 3 * 0x1p-11f)).isEqualTo(0x3C02);     // tie between 0x3C01 and 0x3C02: even
        assertThat(half(1.0f + 0x1p-11f + 0x1p-20f)).isEqualTo(0x3C01); // above the tie
        assertThat(half(0.1f)).isEqualTo(0x2E66);
        assertThat(half(2047.5f)).isEqualTo(0x6800);                 // 2047.5 lies between 2047 and 2048, ulp 1
    }

    @Test
    void shouldConvertHalfToFloatWithHandComputedBitPatterns() {
        assertThat(TensorCodec.halfToFloat((short) 0x3C00)).isEqualTo(1.0f);
        assertThat(TensorCodec.halfToFloat((short) 0x3555)).isEqualTo(0.333251953125f);
        assertThat(TensorCodec.halfToFloat((short) 0x7BFF)).isEqualTo(65504f);
        assertThat(TensorCodec.halfToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
        assertThat(TensorCodec.halfToFloat((short) 0x03FF)).isEqualTo(1023 * 0x1p-24f);
        assertThat(Float.floatToRawIntBits(TensorCodec.halfToFloat((short) 0x8000))).isEqualTo(0x80000000);
        assertThat(TensorCodec.halfToFloat((short) 0x7C00)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(TensorCodec.halfToFloat((short) 0xFC00)).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(TensorCodec.halfToFloat((short) 0x7E00)).isNaN();
        assertThat(TensorCodec.halfToFloat((short) 0x7C01)).isNaN();
    }

    @Test
    void shouldKeepNaNAsNaNInBothSixteenBitFormats() {
        short h = TensorCodec.floatToHalf(Float.NaN);
        short b = TensorCodec.floatToBfloat16(Float.NaN);
        // a signalling NaN whose payload sits only in the low bits must not collapse to infinity
        float lowPayloadNaN = Float.intBitsToFloat(0x7F800001);

        assertThat(h & 0x7C00).isEqualTo(0x7C00);
        assertThat(h & 0x03FF).isNotZero();
        assertThat(TensorCodec.halfToFloat(TensorCodec.floatToHalf(lowPayloadNaN))).isNaN();
        assertThat(TensorCodec.bfloat16ToFloat(b)).isNaN();
        assertThat(TensorCodec.bfloat16ToFloat(TensorCodec.floatToBfloat16(lowPayloadNaN))).isNaN();
    }

    @Test
    void shouldConvertEveryHalfBitPatternToItsExactValueAndKeepNaNPayloads() {
        for (int bits = 0; bits <= 0xFFFF; bits++) {
            int sign = bits >>> 15;
            int exponent = (bits >>> 10) & 0x1f;
            int mantissa = bits & 0x3ff;
            int expected;
            if (exponent == 0x1f) {
                expected = (sign << 31) | 0x7f800000 | (mantissa << 13);
            } else {
                // value = (-1)^sign × mantissa × 2^-24 (subnormal) or (1024 + mantissa) × 2^(exponent - 25)
                double magnitude = exponent == 0 ? Math.scalb((double) mantissa, -24)
                        : Math.scalb((double) (1024 + mantissa), exponent - 25);
                expected = Float.floatToRawIntBits((float) (sign == 1 ? -magnitude : magnitude));
            }
            assertThat(Float.floatToRawIntBits(TensorCodec.halfToFloat((short) bits)))
                    .as("half 0x%04X", bits).isEqualTo(expected);
        }
    }

    @Test
    void shouldDecodeArrayBackedDataLikeBufferViewsBelowAndAboveTheBulkSize() {
        for (DType dtype : List.of(DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16, DType.UINT8)) {
            for (int n : new int[] {1, 10, TensorCodec.BULK_MIN_ELEMENTS - 1, TensorCodec.BULK_MIN_ELEMENTS, 1000}) {
                byte[] elements = new byte[n * TensorCodec.elementSize(dtype)];
                new Random(n).nextBytes(elements); // every bit pattern goes, NaN payloads and subnormals included
                // array-backed, the elements behind a non-zero array offset and a non-zero position
                byte[] backing = new byte[elements.length + 7];
                System.arraycopy(elements, 0, backing, 5, elements.length);
                ByteBuffer heap = ByteBuffer.wrap(backing, 2, elements.length + 3).slice().position(3);
                ByteBuffer direct = ByteBuffer.allocateDirect(elements.length).put(elements).flip();
                ByteBuffer readOnly = ByteBuffer.wrap(elements).asReadOnlyBuffer();
                assertThat(heap.hasArray()).isTrue();
                assertThat(readOnly.hasArray()).isFalse();

                float[] fromHeap = new float[n + 2];
                TensorCodec.toFloats("t", new Tensor(dtype, List.of(n), heap), fromHeap, 1);

                assertThat(heap.position()).isEqualTo(3);
                for (ByteBuffer other : List.of(direct, readOnly)) {
                    float[] fromView = new float[n + 2];
                    TensorCodec.toFloats("t", new Tensor(dtype, List.of(n), other), fromView, 1);
                    assertThat(rawBits(fromHeap)).as("%s x %d", dtype, n).containsExactly(rawBits(fromView));
                }
                assertThat(rawBits(fromHeap)).as("%s x %d by element", dtype, n)
                        .containsExactly(rawBits(referenceDecode(dtype, elements, n)));
            }
        }
    }

    @Test
    void shouldEncodeFloatsBitExactLittleEndianBelowAndAboveTheBulkSize() {
        for (int n : new int[] {1, 10, TensorCodec.BULK_MIN_ELEMENTS - 1, TensorCodec.BULK_MIN_ELEMENTS, 1000}) {
            Random random = new Random(n);
            float[] values = new float[n];
            for (int i = 0; i < n; i++) {
                values[i] = Float.intBitsToFloat(random.nextInt()); // NaN payloads, subnormals and -0.0 included
            }
            for (DType dtype : List.of(DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16)) {
                Tensor t = TensorCodec.fromFloats(values, dtype, n);

                ByteBuffer data = t.getData();
                assertThat(data.position()).isZero();
                assertThat(data.remaining()).isEqualTo(n * TensorCodec.elementSize(dtype));
                for (int i = 0; i < n; i++) {
                    int expected = switch (dtype) {
                        case FLOAT32 -> Float.floatToRawIntBits(values[i]);
                        case FLOAT16 -> TensorCodec.floatToHalf(values[i]) & 0xffff;
                        default -> TensorCodec.floatToBfloat16(values[i]) & 0xffff;
                    };
                    int actual = dtype == DType.FLOAT32 ? data.duplicate().order(ByteOrder.LITTLE_ENDIAN).getInt(4 * i)
                            : data.duplicate().order(ByteOrder.LITTLE_ENDIAN).getShort(2 * i) & 0xffff;
                    assertThat(actual).as("%s x %d, element %d", dtype, n, i).isEqualTo(expected);
                }
            }
        }
    }

    /** Element by element from little-endian bytes with the public scalar conversions. */
    private static float[] referenceDecode(DType dtype, byte[] elements, int n) {
        ByteBuffer in = ByteBuffer.wrap(elements).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[n + 2];
        for (int i = 0; i < n; i++) {
            out[1 + i] = switch (dtype) {
                case FLOAT32 -> in.getFloat(4 * i);
                case FLOAT16 -> TensorCodec.halfToFloat(in.getShort(2 * i));
                case BFLOAT16 -> TensorCodec.bfloat16ToFloat(in.getShort(2 * i));
                default -> elements[i] & 0xff;
            };
        }
        return out;
    }

    private static int[] rawBits(float[] values) {
        int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            bits[i] = Float.floatToRawIntBits(values[i]);
        }
        return bits;
    }

    @Test
    void shouldRoundTripEveryNonNaNHalfBitPattern() {
        for (int bits = 0; bits <= 0xFFFF; bits++) {
            float f = TensorCodec.halfToFloat((short) bits);
            if (Float.isNaN(f)) {
                continue;
            }
            assertThat(half(f)).as("half 0x%04X", bits).isEqualTo(bits);
        }
    }

    @Test
    void shouldRoundFloatToNearestHalfTiesToEvenAgainstBruteForceReference() {
        Random random = new Random(20240611L);
        for (int i = 0; i < 200_000; i++) {
            // spread over the half range, including subnormals, plus exact ties
            float f = switch (i % 4) {
                case 0 -> Float.intBitsToFloat(random.nextInt() & 0x477FFFFF);
                case 1 -> (random.nextFloat() - 0.5f) * 0x1p-12f;
                case 2 -> tieBetweenHalves(random.nextInt(0x7BFF));
                default -> (random.nextFloat() - 0.5f) * 130000f;
            };
            assertThat(half(f)).as("%s (0x%08X)", f, Float.floatToRawIntBits(f)).isEqualTo(referenceHalf(f));
        }
    }

    // ------------------------------------------------------------------ bfloat16 bit patterns

    @Test
    void shouldConvertFloatToBfloat16WithHandComputedBitPatterns() {
        assertThat(bf16(1.0f)).isEqualTo(0x3F80);
        assertThat(bf16(-2.0f)).isEqualTo(0xC000);
        assertThat(bf16(Float.intBitsToFloat(0x3F808000))).isEqualTo(0x3F80);   // tie, even stays
        assertThat(bf16(Float.intBitsToFloat(0x3F818000))).isEqualTo(0x3F82);   // tie, odd rounds up
        assertThat(bf16(Float.intBitsToFloat(0x3F808001))).isEqualTo(0x3F81);   // above the tie
        assertThat(bf16(Float.intBitsToFloat(0x3F807FFF))).isEqualTo(0x3F80);   // below the tie
        assertThat(bf16(Float.MAX_VALUE)).isEqualTo(0x7F80);                     // rounds to infinity
        assertThat(bf16(Float.NEGATIVE_INFINITY)).isEqualTo(0xFF80);
        assertThat(bf16(Float.MIN_VALUE)).isEqualTo(0x0000);                     // tiny subnormal to zero
        assertThat(bf16(Float.intBitsToFloat(0x00018000))).isEqualTo(0x0002);   // subnormal tie, odd up
        assertThat(TensorCodec.bfloat16ToFloat((short) 0x4049)).isEqualTo(3.140625f);
    }

    @Test
    void shouldRoundTripEveryNonNaNBfloat16BitPattern() {
        for (int bits = 0; bits <= 0xFFFF; bits++) {
            float f = TensorCodec.bfloat16ToFloat((short) bits);
            if (Float.isNaN(f)) {
                continue;
            }
            assertThat(bf16(f)).as("bf16 0x%04X", bits).isEqualTo(bits);
        }
    }

    // ------------------------------------------------------------------ bad tensors

    @Test
    void shouldRejectValuesThatDoNotMatchTheShape() {
        InvalidTensorException e = catchThrowableOfType(InvalidTensorException.class,
                () -> TensorCodec.fromFloats(new float[5], DType.FLOAT32, 2, 3));

        assertThat(e.reason()).isEqualTo(Reason.SHAPE);
        assertThat(e).hasMessageContaining("6 elements").hasMessageContaining("5 values");
    }

    @Test
    void shouldRejectDataLengthThatDoesNotMatchTheShape() {
        Tensor t = new Tensor(DType.FLOAT32, List.of(3), ByteBuffer.allocate(8));

        InvalidTensorException e = catchThrowableOfType(InvalidTensorException.class,
                () -> TensorCodec.toFloats("logits", t));

        assertThat(e.reason()).isEqualTo(Reason.SHAPE);
        assertThat(e).hasMessageContaining("logits").hasMessageContaining("12 bytes").hasMessageContaining("8");
    }

    @Test
    void shouldRejectNegativeDimension() {
        Tensor t = new Tensor(DType.UINT8, List.of(2, -1), ByteBuffer.allocate(0));

        assertThatThrownBy(() -> TensorCodec.validate("img", t))
                .isInstanceOfSatisfying(InvalidTensorException.class, e -> {
                    assertThat(e.reason()).isEqualTo(Reason.SHAPE);
                    assertThat(e.tensorName()).isEqualTo("img");
                })
                .hasMessageContaining("negative");
        assertThatThrownBy(() -> TensorCodec.fromInts(new int[0], 0, -2))
                .isInstanceOf(InvalidTensorException.class);
    }

    @Test
    void shouldRejectElementCountThatOverflows() {
        Tensor t = new Tensor(DType.FLOAT32, List.of(1 << 16, 1 << 16, 1 << 16, 1 << 16), ByteBuffer.allocate(4));

        assertThatThrownBy(() -> TensorCodec.validate("huge", t))
                .isInstanceOfSatisfying(InvalidTensorException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.SHAPE))
                .hasMessageContaining("overflow");
        // the byte size overflowing (elements fit a long, bytes do not) is caught too
        Tensor bytesOverflow = new Tensor(DType.INT64, List.of(1 << 30, 1 << 30, 1 << 3), ByteBuffer.allocate(8));
        assertThatThrownBy(() -> TensorCodec.validate("huge", bytesOverflow))
                .isInstanceOf(InvalidTensorException.class);
    }

    @Test
    void shouldRejectNullOrMismatchedDtype() {
        Tensor noDtype = new Tensor(null, List.of(1), ByteBuffer.allocate(4));
        Tensor floats = TensorCodec.fromFloats(new float[] {1f}, DType.FLOAT32, 1);

        assertThat(catchThrowableOfType(InvalidTensorException.class, () -> TensorCodec.validate("a", noDtype))
                .reason()).isEqualTo(Reason.DTYPE);
        assertThat(catchThrowableOfType(InvalidTensorException.class, () -> TensorCodec.toInts("a", floats))
                .reason()).isEqualTo(Reason.DTYPE);
        assertThat(catchThrowableOfType(InvalidTensorException.class, () -> TensorCodec.toLongs("a", floats))
                .reason()).isEqualTo(Reason.DTYPE);
        assertThat(catchThrowableOfType(InvalidTensorException.class, () -> TensorCodec.toUint8("a", floats))
                .reason()).isEqualTo(Reason.DTYPE);
        assertThat(catchThrowableOfType(InvalidTensorException.class,
                () -> TensorCodec.fromFloats(new float[] {1f}, DType.INT32, 1)).reason()).isEqualTo(Reason.DTYPE);
    }

    @Test
    void shouldRejectTensorsAboveTheElementLimit() {
        Tensor t = TensorCodec.fromUint8(new byte[100], 10, 10);

        TensorCodec.validate("img", t, 100);
        assertThat(catchThrowableOfType(InvalidTensorException.class, () -> TensorCodec.validate("img", t, 99))
                .reason()).isEqualTo(Reason.OVERSIZED);
    }

    @Test
    void shouldRejectNullShapeOrDimension() {
        assertThatThrownBy(() -> TensorCodec.numElements("s", null)).isInstanceOf(InvalidTensorException.class);
        assertThatThrownBy(() -> TensorCodec.numElements("s", Arrays.asList(2, null)))
                .isInstanceOf(InvalidTensorException.class);
    }

    // ------------------------------------------------------------------ finiteness

    @Test
    void shouldDetectNonFiniteValuesInEveryFloatingDtype() {
        float[] bad = {1f, Float.NaN};
        float[] inf = {Float.NEGATIVE_INFINITY, 0f};
        float[] good = {1f, -65504f};

        for (DType dtype : List.of(DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16)) {
            assertThat(TensorCodec.allFinite("x", TensorCodec.fromFloats(bad, dtype, 2))).as(dtype + " NaN").isFalse();
            assertThat(TensorCodec.allFinite("x", TensorCodec.fromFloats(inf, dtype, 2))).as(dtype + " inf").isFalse();
            assertThat(TensorCodec.allFinite("x", TensorCodec.fromFloats(good, dtype, 2))).as(dtype.name()).isTrue();
        }
        // 70000 is finite as float32 but overflows float16 to infinity
        assertThat(TensorCodec.allFinite("x", TensorCodec.fromFloats(new float[] {70000f}, DType.FLOAT16, 1))).isFalse();
        assertThat(TensorCodec.allFinite("x", TensorCodec.fromInts(new int[] {Integer.MAX_VALUE}, 1))).isTrue();
    }

    @Test
    void shouldReportElementSizes() {
        assertThat(TensorCodec.elementSize(DType.FLOAT32)).isEqualTo(4);
        assertThat(TensorCodec.elementSize(DType.FLOAT16)).isEqualTo(2);
        assertThat(TensorCodec.elementSize(DType.BFLOAT16)).isEqualTo(2);
        assertThat(TensorCodec.elementSize(DType.UINT8)).isEqualTo(1);
        assertThat(TensorCodec.elementSize(DType.INT32)).isEqualTo(4);
        assertThat(TensorCodec.elementSize(DType.INT64)).isEqualTo(8);
    }

    // ------------------------------------------------------------------ helpers

    private static int half(float f) {
        return TensorCodec.floatToHalf(f) & 0xFFFF;
    }

    private static int bf16(float f) {
        return TensorCodec.floatToBfloat16(f) & 0xFFFF;
    }

    private static byte[] bytes(Tensor t) {
        ByteBuffer data = t.getData().duplicate();
        byte[] out = new byte[data.remaining()];
        data.get(out);
        return out;
    }

    /** The float exactly half-way between positive half {@code bits} and the next one up. */
    private static float tieBetweenHalves(int bits) {
        double low = TensorCodec.halfToFloat((short) bits);
        double high = TensorCodec.halfToFloat((short) (bits + 1));
        return (float) ((low + high) / 2); // exact: halves have few significant bits
    }

    /** Nearest half by exhaustive comparison over the positive finite halves (ties to even bits), in doubles. */
    private static int referenceHalf(float f) {
        int sign = (Float.floatToRawIntBits(f) >>> 16) & 0x8000;
        double target = Math.abs((double) f);
        if (target >= 65520.0) {
            return sign | 0x7C00;
        }
        int lo = 0;
        int hi = 0x7BFF;
        while (lo < hi) { // largest half <= target
            int mid = (lo + hi + 1) >>> 1;
            if (TensorCodec.halfToFloat((short) mid) <= target) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        if (lo == 0x7BFF) {
            double below = 65504.0;
            return sign | (target - below < 65536.0 - target || target == below ? 0x7BFF : 0x7C00);
        }
        double below = TensorCodec.halfToFloat((short) lo);
        double above = TensorCodec.halfToFloat((short) (lo + 1));
        double dBelow = target - below;
        double dAbove = above - target;
        int pick = dBelow < dAbove ? lo : dAbove < dBelow ? lo + 1 : ((lo & 1) == 0 ? lo : lo + 1);
        return sign | pick;
    }
}
