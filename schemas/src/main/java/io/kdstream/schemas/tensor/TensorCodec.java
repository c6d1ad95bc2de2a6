package io.kdstream.schemas.tensor;

import io.kdstream.avro.DType;
import io.kdstream.avro.Tensor;
import io.kdstream.schemas.tensor.InvalidTensorException.Reason;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodes and decodes {@link Tensor} records: little-endian, row-major element bytes plus a dtype and a shape.
 *
 * <p>No element is boxed and no per-call buffer objects are made for array-backed data (what Avro decodes and what
 * this class encodes): small tensors are converted in a plain loop over the bytes, large float32 ones with a bulk
 * copy; other buffers go through little-endian views. Every accessor validates the tensor first (see
 * {@link #validate(String, Tensor, long)}) and throws {@link InvalidTensorException} rather than truncating or
 * padding. The 16-bit float formats round to nearest, ties to even.
 */
public final class TensorCodec {

    /** Float32 tensors of at least this many elements are copied in bulk; below it the bulk copy's fixed cost wins. */
    static final int BULK_MIN_ELEMENTS = 256;

    private static final VarHandle FLOAT_LE = MethodHandles.byteArrayViewVarHandle(float[].class,
            ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle SHORT_LE = MethodHandles.byteArrayViewVarHandle(short[].class,
            ByteOrder.LITTLE_ENDIAN);

    private TensorCodec() {
    }

    // ------------------------------------------------------------------ construction

    /**
     * A floating-point tensor from {@code values}, stored as {@code dtype} (FLOAT32, FLOAT16 or BFLOAT16).
     *
     * @throws InvalidTensorException if the shape does not hold exactly {@code values.length} elements or the dtype
     *                                is not a floating one
     */
    public static Tensor fromFloats(float[] values, DType dtype, int... shape) {
        checkValues(values, values == null ? 0 : values.length, shape);
        if (dtype == null) {
            throw new InvalidTensorException(Reason.DTYPE, "values", "dtype is null");
        }
        int n = values.length;
        byte[] bytes;
        switch (dtype) {
            case FLOAT32 -> {
                bytes = newData(n, 4);
                if (n >= BULK_MIN_ELEMENTS) {
                    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(values);
                } else {
                    for (int i = 0; i < n; i++) {
                        FLOAT_LE.set(bytes, i << 2, values[i]);
                    }
                }
            }
            case FLOAT16 -> {
                bytes = newData(n, 2);
                for (int i = 0; i < n; i++) {
                    SHORT_LE.set(bytes, i << 1, floatToHalf(values[i]));
                }
            }
            case BFLOAT16 -> {
                bytes = newData(n, 2);
                for (int i = 0; i < n; i++) {
                    SHORT_LE.set(bytes, i << 1, floatToBfloat16(values[i]));
                }
            }
            default -> throw new InvalidTensorException(Reason.DTYPE, "values",
                    "fromFloats needs FLOAT32, FLOAT16 or BFLOAT16, got " + dtype);
        }
        return new Tensor(dtype, shapeList(shape), ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN));
    }

    /** A UINT8 tensor holding a copy of {@code values}. */
    public static Tensor fromUint8(byte[] values, int... shape) {
        checkValues(values, values == null ? 0 : values.length, shape);
        ByteBuffer data = ByteBuffer.allocate(values.length);
        data.put(values).flip();
        return new Tensor(DType.UINT8, shapeList(shape), data);
    }

    /** An INT32 tensor holding {@code values}. */
    public static Tensor fromInts(int[] values, int... shape) {
        checkValues(values, values == null ? 0 : values.length, shape);
        ByteBuffer data = allocate(values.length, 4);
        data.asIntBuffer().put(values);
        return new Tensor(DType.INT32, shapeList(shape), data);
    }

    /** An INT64 tensor holding {@code values}. */
    public static Tensor fromLongs(long[] values, int... shape) {
        checkValues(values, values == null ? 0 : values.length, shape);
        ByteBuffer data = allocate(values.length, 8);
        data.asLongBuffer().put(values);
        return new Tensor(DType.INT64, shapeList(shape), data);
    }

    // ------------------------------------------------------------------ access

    /** All elements converted to float (UINT8 read as unsigned, integers rounded to the nearest float). */
    public static float[] toFloats(String name, Tensor t) {
        int n = (int) checkedCount(name, t);
        float[] out = new float[n];
        decodeFloats(name, t, out, 0, n);
        return out;
    }

    /**
     * Writes all elements, converted to float, into {@code dst} from {@code offset} on.
     *
     * @throws InvalidTensorException ({@link Reason#SHAPE}) if they do not fit in {@code dst}
     */
    public static void toFloats(String name, Tensor t, float[] dst, int offset) {
        int n = (int) checkedCount(name, t);
        if (dst == null || offset < 0 || offset > dst.length - n) {
            throw new InvalidTensorException(Reason.SHAPE, name, n + " elements do not fit in a destination of "
                    + (dst == null ? "null" : dst.length) + " floats at offset " + offset);
        }
        decodeFloats(name, t, dst, offset, n);
    }

    /** The elements of an INT32 tensor. */
    public static int[] toInts(String name, Tensor t) {
        int n = (int) checkedCount(name, t);
        requireDtype(name, t, DType.INT32);
        int[] out = new int[n];
        view(t).asIntBuffer().get(out);
        return out;
    }

    /** The elements of an INT64 tensor. */
    public static long[] toLongs(String name, Tensor t) {
        int n = (int) checkedCount(name, t);
        requireDtype(name, t, DType.INT64);
        long[] out = new long[n];
        view(t).asLongBuffer().get(out);
        return out;
    }

    /** A copy of the elements of a UINT8 tensor (read them with {@code b & 0xff}). */
    public static byte[] toUint8(String name, Tensor t) {
        int n = (int) checkedCount(name, t);
        requireDtype(name, t, DType.UINT8);
        byte[] out = new byte[n];
        view(t).get(out);
        return out;
    }

    /**
     * Whether every element is finite (no NaN, no infinity). Integer dtypes are always finite.
     */
    public static boolean allFinite(String name, Tensor t) {
        int n = (int) checkedCount(name, t);
        ByteBuffer data = view(t);
        switch (t.getDtype()) {
            case FLOAT32 -> {
                FloatBuffer in = data.asFloatBuffer();
                for (int i = 0; i < n; i++) {
                    if (!Float.isFinite(in.get(i))) {
                        return false;
                    }
                }
                return true;
            }
            case FLOAT16 -> {
                return noAllOnesExponent(data.asShortBuffer(), n, 0x7c00);
            }
            case BFLOAT16 -> {
                return noAllOnesExponent(data.asShortBuffer(), n, 0x7f80);
            }
            default -> {
                return true;
            }
        }
    }

    // ------------------------------------------------------------------ validation

    /**
     * The number of elements a shape describes (1 for the empty shape, a scalar).
     *
     * @throws InvalidTensorException ({@link Reason#SHAPE}) on a null shape or dimension, a negative dimension or
     *                                a product that overflows a long
     */
    public static long numElements(String name, List<Integer> shape) {
        if (shape == null) {
            throw new InvalidTensorException(Reason.SHAPE, name, "shape is null");
        }
        long count = 1;
        for (int i = 0; i < shape.size(); i++) {
            Integer dim = shape.get(i);
            if (dim == null) {
                throw new InvalidTensorException(Reason.SHAPE, name, "dimension " + i + " is null");
            }
            if (dim < 0) {
                throw new InvalidTensorException(Reason.SHAPE, name, "dimension " + i + " is negative: " + shape);
            }
            try {
                count = Math.multiplyExact(count, dim.longValue());
            } catch (ArithmeticException e) {
                throw new InvalidTensorException(Reason.SHAPE, name, "element count of shape " + shape
                        + " overflows");
            }
        }
        return count;
    }

    /** {@link #validate(String, Tensor, long)} with no limit beyond what a Java array can hold. */
    public static void validate(String name, Tensor t) {
        validate(name, t, Long.MAX_VALUE);
    }

    /**
     * Checks that the tensor is consistent: a known dtype, a valid shape of at most {@code maxElements} elements,
     * and exactly {@code elements × elementSize(dtype)} bytes of data.
     *
     * @throws InvalidTensorException otherwise, with the reason
     */
    public static void validate(String name, Tensor t, long maxElements) {
        checkedCount(name, t, maxElements);
    }

    /** Bytes per element of {@code dtype}. */
    public static int elementSize(DType dtype) {
        if (dtype == null) {
            throw new InvalidTensorException(Reason.DTYPE, "?", "dtype is null");
        }
        return switch (dtype) {
            case FLOAT32, INT32 -> 4;
            case FLOAT16, BFLOAT16 -> 2;
            case UINT8 -> 1;
            case INT64 -> 8;
        };
    }

    // ------------------------------------------------------------------ 16-bit floats

    /** IEEE 754 binary16 bits to float (exact: every half is a float). NaN payloads are kept. */
    public static float halfToFloat(short half) {
        int sign = (half & 0x8000) << 16;
        int magnitude = half & 0x7fff;
        int exponent = magnitude & 0x7c00;
        // normal: the exponent rebased from bias 15 to 127; infinity and NaN: the all-ones exponent, payload kept
        int normal = (magnitude << 13) + ((127 - 15) << 23) + (exponent == 0x7c00 ? (128 - 16) << 23 : 0);
        // zero or subnormal: magnitude × 2^-24, exact in float (no subnormal float is involved)
        int small = Float.floatToRawIntBits(magnitude * 0x1p-24f);
        // both are computed and one is picked, so that zeros scattered in the data cost no mispredicted branch
        return Float.intBitsToFloat(sign | (exponent == 0 ? small : normal));
    }

    /** Float to IEEE 754 binary16 bits, rounding to nearest, ties to even; overflow gives infinity. */
    public static short floatToHalf(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs >= 0x7f800000) {
            if (abs == 0x7f800000) {
                return (short) (sign | 0x7c00);
            }
            // NaN: keep the top payload bits, force quiet so it stays a NaN
            return (short) (sign | 0x7e00 | ((abs >>> 13) & 0x3ff));
        }
        if (abs >= 0x477ff000) {
            // >= 65520, half-way between 65504 (max half) and 65536: rounds to infinity
            return (short) (sign | 0x7c00);
        }
        if (abs < 0x38800000) {
            // below 2^-14: subnormal half (units of 2^-24) or zero
            if (abs <= 0x33000000) {
                return (short) sign; // <= 2^-25 rounds to zero (2^-25 itself is a tie to even zero)
            }
            int exponent = abs >>> 23;
            int mantissa = (abs & 0x7fffff) | 0x800000;
            int shift = 126 - exponent;
            int result = mantissa >>> shift;
            int remainder = mantissa & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (remainder > halfway || (remainder == halfway && (result & 1) == 1)) {
                result++;
            }
            return (short) (sign | result);
        }
        int rebased = abs - ((127 - 15) << 23);
        int result = rebased >>> 13;
        int remainder = rebased & 0x1fff;
        if (remainder > 0x1000 || (remainder == 0x1000 && (result & 1) == 1)) {
            result++; // a carry into the exponent is the correct next binade
        }
        return (short) (sign | result);
    }

    /** bfloat16 bits (the upper half of a float32) to float; exact. */
    public static float bfloat16ToFloat(short bf16) {
        return Float.intBitsToFloat((bf16 & 0xffff) << 16);
    }

    /** Float to bfloat16 bits, rounding to nearest, ties to even; NaN stays a (quiet) NaN. */
    public static short floatToBfloat16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int rounded = bits + 0x7fff + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    // ------------------------------------------------------------------ internals

    private static long checkedCount(String name, Tensor t) {
        return checkedCount(name, t, Long.MAX_VALUE);
    }

    private static long checkedCount(String name, Tensor t, long maxElements) {
        if (t == null) {
            throw new InvalidTensorException(Reason.SHAPE, name, "tensor is null");
        }
        DType dtype = t.getDtype();
        if (dtype == null) {
            throw new InvalidTensorException(Reason.DTYPE, name, "dtype is null");
        }
        long count = numElements(name, t.getShape());
        if (count > maxElements) {
            throw new InvalidTensorException(Reason.OVERSIZED, name, "shape " + t.getShape() + " holds " + count
                    + " elements, more than the limit of " + maxElements);
        }
        ByteBuffer data = t.getData();
        if (data == null) {
            throw new InvalidTensorException(Reason.SHAPE, name, "data is null");
        }
        int size = elementSize(dtype);
        long expected;
        try {
            expected = Math.multiplyExact(count, (long) size);
        } catch (ArithmeticException e) {
            throw new InvalidTensorException(Reason.SHAPE, name, "byte size of shape " + t.getShape() + " overflows");
        }
        if (expected != data.remaining()) {
            throw new InvalidTensorException(Reason.SHAPE, name, "shape " + t.getShape() + " of " + dtype + " needs "
                    + expected + " bytes but data has " + data.remaining());
        }
        return count;
    }

    private static void requireDtype(String name, Tensor t, DType expected) {
        if (t.getDtype() != expected) {
            throw new InvalidTensorException(Reason.DTYPE, name, "expected " + expected + " but is " + t.getDtype());
        }
    }

    /** A little-endian view of the data from its position to its limit; the record's buffer is not moved. */
    private static ByteBuffer view(Tensor t) {
        return t.getData().slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void decodeFloats(String name, Tensor t, float[] dst, int offset, int n) {
        ByteBuffer buffer = t.getData();
        if (buffer.hasArray() && decodeArray(t.getDtype(), buffer.array(), buffer.arrayOffset() + buffer.position(),
                dst, offset, n)) {
            return;
        }
        ByteBuffer data = view(t);
        switch (t.getDtype()) {
            case FLOAT32 -> data.asFloatBuffer().get(dst, offset, n);
            case FLOAT16 -> {
                ShortBuffer in = data.asShortBuffer();
                for (int i = 0; i < n; i++) {
                    dst[offset + i] = halfToFloat(in.get(i));
                }
            }
            case BFLOAT16 -> {
                ShortBuffer in = data.asShortBuffer();
                for (int i = 0; i < n; i++) {
                    dst[offset + i] = bfloat16ToFloat(in.get(i));
                }
            }
            case UINT8 -> {
                for (int i = 0; i < n; i++) {
                    dst[offset + i] = data.get(i) & 0xff;
                }
            }
            case INT32 -> {
                IntBuffer in = data.asIntBuffer();
                for (int i = 0; i < n; i++) {
                    dst[offset + i] = in.get(i);
                }
            }
            case INT64 -> {
                LongBuffer in = data.asLongBuffer();
                for (int i = 0; i < n; i++) {
                    dst[offset + i] = in.get(i);
                }
            }
            default -> throw new InvalidTensorException(Reason.DTYPE, name, "unknown dtype " + t.getDtype());
        }
    }

    /**
     * Converts {@code n} elements of {@code dtype} starting at {@code src[at]} (an array-backed buffer, already
     * validated to hold them) into {@code dst}; false if the dtype has no array path here.
     */
    private static boolean decodeArray(DType dtype, byte[] src, int at, float[] dst, int offset, int n) {
        switch (dtype) {
            case FLOAT32 -> {
                if (n >= BULK_MIN_ELEMENTS) {
                    ByteBuffer.wrap(src, at, n << 2).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer()
                            .get(dst, offset, n);
                } else {
                    for (int i = 0; i < n; i++) {
                        dst[offset + i] = (float) FLOAT_LE.get(src, at + (i << 2));
                    }
                }
            }
            case FLOAT16 -> {
                for (int i = 0; i < n; i++) {
                    dst[offset + i] = halfToFloat((short) SHORT_LE.get(src, at + (i << 1)));
                }
            }
            case BFLOAT16 -> {
                for (int i = 0; i < n; i++) {
                    dst[offset + i] = Float.intBitsToFloat(((short) SHORT_LE.get(src, at + (i << 1))) << 16);
                }
            }
            case UINT8 -> {
                for (int i = 0; i < n; i++) {
                    dst[offset + i] = src[at + i] & 0xff;
                }
            }
            default -> {
                return false;
            }
        }
        return true;
    }

    private static boolean noAllOnesExponent(ShortBuffer in, int n, int exponentMask) {
        for (int i = 0; i < n; i++) {
            if ((in.get(i) & exponentMask) == exponentMask) {
                return false;
            }
        }
        return true;
    }

    private static void checkValues(Object values, int length, int[] shape) {
        if (values == null) {
            throw new InvalidTensorException(Reason.SHAPE, "values", "values are null");
        }
        if (shape == null) {
            throw new InvalidTensorException(Reason.SHAPE, "values", "shape is null");
        }
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) {
                throw new InvalidTensorException(Reason.SHAPE, "values", "dimension " + i + " is negative");
            }
            try {
                count = Math.multiplyExact(count, (long) shape[i]);
            } catch (ArithmeticException e) {
                throw new InvalidTensorException(Reason.SHAPE, "values", "element count overflows");
            }
        }
        if (count != length) {
            throw new InvalidTensorException(Reason.SHAPE, "values", "shape " + java.util.Arrays.toString(shape)
                    + " holds " + count + " elements but " + length + " values were given");
        }
    }

    private static ByteBuffer allocate(int count, int elementSize) {
        return ByteBuffer.wrap(newData(count, elementSize)).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static byte[] newData(int count, int elementSize) {
        long bytes = (long) count * elementSize;
        if (bytes > Integer.MAX_VALUE - 8) {
            throw new InvalidTensorException(Reason.OVERSIZED, "values", bytes + " bytes do not fit in one buffer");
        }
        return new byte[(int) bytes];
    }

    private static List<Integer> shapeList(int[] shape) {
        List<Integer> list = new ArrayList<>(shape.length);
        for (int dim : shape) {
            list.add(dim);
        }
        return list;
    }
}
