package io.kdstream.core.djl;

import io.kdstream.avro.DType;
import io.kdstream.avro.Tensor;
import io.kdstream.schemas.tensor.InvalidTensorException;
import io.kdstream.schemas.tensor.TensorCodec;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts between the wire {@link Tensor} and DJL's {@link NDArray}. The arrays are created in the manager the
 * caller passes (a per-batch sub-manager, so they are freed with it).
 *
 * <p>Model inputs follow one convention: float32 in [0, 1]. {@link #toModelInput} reads UINT8 pixels as
 * {@code value / 255} and floating tensors as they are.
 */
public final class TensorBridge {

    /** UINT8 pixels are divided by this to become model input in [0, 1]. */
    public static final float UINT8_MAX = 255f;

    /** {@code v / UINT8_MAX} for every byte value {@code v}: the same floats as the division, without one per pixel. */
    private static final float[] UNIT = new float[256];

    static {
        for (int v = 0; v < UNIT.length; v++) {
            UNIT[v] = v / UINT8_MAX;
        }
    }

    private TensorBridge() {
    }

    /**
     * An NDArray with the tensor's dtype, shape and elements. BFLOAT16 tensors become FLOAT32 arrays (an exact
     * widening), since DJL's PyTorch engine has no bfloat16 arrays; {@link #toTensor(NDArray, DType)} narrows back.
     *
     * @throws InvalidTensorException when the tensor is inconsistent
     */
    public static NDArray toNDArray(NDManager manager, String name, Tensor tensor) {
        TensorCodec.validate(name, tensor);
        Shape shape = shape(tensor.getShape());
        if (tensor.getDtype() == DType.BFLOAT16) {
            // DJL's PyTorch engine cannot hold bfloat16 arrays: widen (exactly) to float32.
            return manager.create(TensorCodec.toFloats(name, tensor), shape);
        }
        ByteBuffer src = tensor.getData().slice();
        ByteBuffer direct = ByteBuffer.allocateDirect(src.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        direct.put(src).flip();
        return manager.create(direct, shape, dataType(tensor.getDtype()));
    }

    /** A tensor with the array's dtype, shape and elements. */
    public static Tensor toTensor(NDArray array) {
        DType dtype = dtype(array.getDataType());
        ByteBuffer native_ = array.toByteBuffer();
        ByteBuffer data = ByteBuffer.allocate(native_.remaining());
        data.put(native_.order(ByteOrder.LITTLE_ENDIAN)).flip();
        return new Tensor(dtype, dims(array.getShape()), data);
    }

    /** A floating tensor (FLOAT32, FLOAT16 or BFLOAT16) holding the array's values converted to {@code dtype}. */
    public static Tensor toTensor(NDArray array, DType dtype) {
        float[] values = array.getDataType() == DataType.FLOAT32 ? array.toFloatArray()
                : array.toType(DataType.FLOAT32, false).toFloatArray();
        return TensorCodec.fromFloats(values, dtype, toIntArray(array.getShape()));
    }

    /**
     * Writes the tensor into {@code dst} at {@code offset} as model input: UINT8 scaled to [0, 1], floats as they
     * are. The tensor's element count must be {@code expectedSize}.
     *
     * @throws InvalidTensorException ({@code SHAPE}) when the size differs, ({@code DTYPE}) for integer dtypes other
     *                                than UINT8
     */
    public static void toModelInput(String name, Tensor tensor, int expectedSize, float[] dst, int offset) {
        long n = TensorCodec.numElements(name, tensor.getShape());
        if (n != expectedSize) {
            throw new InvalidTensorException(InvalidTensorException.Reason.SHAPE, name,
                    "expected " + expectedSize + " elements, got shape " + tensor.getShape());
        }
        DType dtype = tensor.getDtype();
        if (dtype == DType.INT32 || dtype == DType.INT64) {
            throw new InvalidTensorException(InvalidTensorException.Reason.DTYPE, name,
                    "model input must be UINT8 or floating, got " + dtype);
        }
        if (dtype == DType.UINT8) {
            uint8ToUnit(name, tensor, expectedSize, dst, offset);
            return;
        }
        TensorCodec.toFloats(name, tensor, dst, offset);
    }

    private static void uint8ToUnit(String name, Tensor tensor, int n, float[] dst, int offset) {
        unitInto(checkedPixels(name, tensor, n), dst, offset);
    }

    /**
     * The UINT8 pixels of a model input of {@code expectedSize} elements, checked as {@link #toModelInput} checks them,
     * as a view of the tensor's own bytes (no copy), for {@link #unitInto} later; null when the tensor is not UINT8.
     *
     * @throws InvalidTensorException ({@code SHAPE}) when the size differs
     */
    public static ByteBuffer uint8Pixels(String name, Tensor tensor, int expectedSize) {
        long n = TensorCodec.numElements(name, tensor.getShape());
        if (n != expectedSize) {
            throw new InvalidTensorException(InvalidTensorException.Reason.SHAPE, name,
                    "expected " + expectedSize + " elements, got shape " + tensor.getShape());
        }
        return tensor.getDtype() == DType.UINT8 ? checkedPixels(name, tensor, expectedSize) : null;
    }

    private static ByteBuffer checkedPixels(String name, Tensor tensor, int n) {
        ByteBuffer data = tensor.getData();
        if (data == null || data.remaining() != n) {
            throw new InvalidTensorException(InvalidTensorException.Reason.SHAPE, name, "shape " + tensor.getShape()
                    + " of UINT8 needs " + n + " bytes but data has " + (data == null ? "none" : data.remaining()));
        }
        return data.slice();
    }

    /**
     * Writes {@code pixels} (UINT8, from its position to its limit) into {@code dst} at {@code offset} as model input,
     * {@code v / 255}; the buffer is not moved.
     */
    public static void unitInto(ByteBuffer pixels, float[] dst, int offset) {
        int n = pixels.remaining();
        if (offset < 0 || dst.length - offset < n) {
            throw new IndexOutOfBoundsException("destination holds " + (dst.length - offset) + " floats from " + offset
                    + ", " + n + " needed");
        }
        int p = pixels.position();
        if (pixels.hasArray()) {
            byte[] a = pixels.array();
            int base = pixels.arrayOffset() + p;
            for (int i = 0; i < n; i++) {
                dst[offset + i] = UNIT[a[base + i] & 0xff];
            }
        } else {
            for (int i = 0; i < n; i++) {
                dst[offset + i] = UNIT[pixels.get(p + i) & 0xff];
            }
        }
    }

    /** The NDArray type a wire dtype is held in (BFLOAT16 is widened to FLOAT32). */
    public static DataType dataType(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> DataType.FLOAT32;
            case FLOAT16 -> DataType.FLOAT16;
            case BFLOAT16 -> DataType.FLOAT32;
            case UINT8 -> DataType.UINT8;
            case INT32 -> DataType.INT32;
            case INT64 -> DataType.INT64;
        };
    }

    /**
     * @throws InvalidTensorException ({@code DTYPE}) for NDArray types the wire format does not carry
     */
    public static DType dtype(DataType dataType) {
        return switch (dataType) {
            case FLOAT32 -> DType.FLOAT32;
            case FLOAT16 -> DType.FLOAT16;
            case BFLOAT16 -> DType.BFLOAT16;
            case UINT8 -> DType.UINT8;
            case INT32 -> DType.INT32;
            case INT64 -> DType.INT64;
            default -> throw new InvalidTensorException(InvalidTensorException.Reason.DTYPE, "ndarray",
                    "no wire dtype for " + dataType);
        };
    }

    public static Shape shape(List<Integer> dims) {
        long[] s = new long[dims.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = dims.get(i);
        }
        return new Shape(s);
    }

    public static List<Integer> dims(Shape shape) {
        List<Integer> out = new ArrayList<>(shape.dimension());
        for (long d : shape.getShape()) {
            out.add(Math.toIntExact(d));
        }
        return out;
    }

    public static int[] toIntArray(Shape shape) {
        int[] out = new int[shape.dimension()];
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.toIntExact(shape.get(i));
        }
        return out;
    }
}
