package io.kdstream.core.djl;

import io.kdstream.avro.DType;
import io.kdstream.avro.Tensor;
import io.kdstream.schemas.tensor.InvalidTensorException;
import io.kdstream.schemas.tensor.TensorCodec;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class TensorBridgeTest {

    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    @Test
    void shouldRoundTripEveryWireDtypeBitForBit() {
        List<Tensor> tensors = List.of(
                TensorCodec.fromFloats(new float[] {1.5f, -2f, 3.25f, 0f, Float.MIN_VALUE, 1e30f}, DType.FLOAT32, 2, 3),
                TensorCodec.fromFloats(new float[] {1.5f, -2f, 65504f, 0.1f}, DType.FLOAT16, 4),
                TensorCodec.fromUint8(new byte[] {0, 1, (byte) 200, (byte) 255}, 1, 2, 2),
                TensorCodec.fromInts(new int[] {Integer.MIN_VALUE, -1, 0, 7}, 4),
                TensorCodec.fromLongs(new long[] {Long.MAX_VALUE, -5}, 2));
        for (Tensor t : tensors) {
            NDArray a = TensorBridge.toNDArray(manager, "t", t);
            assertThat(a.getShape()).isEqualTo(TensorBridge.shape(t.getShape()));
            assertThat(a.getDataType()).isEqualTo(TensorBridge.dataType(t.getDtype()));
            Tensor back = TensorBridge.toTensor(a);
            assertThat(back.getDtype()).isEqualTo(t.getDtype());
            assertThat(back.getShape()).isEqualTo(t.getShape());
            assertThat(bytes(back.getData())).as(t.getDtype().toString()).isEqualTo(bytes(t.getData()));
        }
    }

    @Test
    void shouldWidenBfloat16ToFloat32AndNarrowItBackExactly() {
        Tensor bf = TensorCodec.fromFloats(new float[] {1.5f, -2f, 1e30f, 0.1f}, DType.BFLOAT16, 2, 2);
        NDArray a = TensorBridge.toNDArray(manager, "bf", bf);
        assertThat(a.getDataType()).isEqualTo(DataType.FLOAT32);
        assertThat(a.toFloatArray()).containsExactly(TensorCodec.toFloats("bf", bf));
        Tensor back = TensorBridge.toTensor(a, DType.BFLOAT16);
        assertThat(back.getShape()).containsExactly(2, 2);
        assertThat(bytes(back.getData())).isEqualTo(bytes(bf.getData()));
    }

    @Test
    void shouldConvertArraysToHalfPrecisionWithinItsResolution() {
        float[] values = {0.1f, -3.14159f, 1000.5f, 1e-3f};
        NDArray a = manager.create(values, new Shape(2, 2));
        Tensor half = TensorBridge.toTensor(a, DType.FLOAT16);
        assertThat(half.getDtype()).isEqualTo(DType.FLOAT16);
        assertThat(half.getShape()).containsExactly(2, 2);
        float[] back = TensorCodec.toFloats("half", half);
        for (int i = 0; i < values.length; i++) {
            assertThat(back[i]).isCloseTo(values[i], within(Math.abs(values[i]) / 1024f + 1e-6f));
        }
    }

    @Test
    void shouldScaleUint8PixelsToUnitRangeAndPassFloatsThrough() {
        float[] dst = new float[6];
        TensorBridge.toModelInput("px", TensorCodec.fromUint8(new byte[] {0, (byte) 255, (byte) 51}, 3), 3, dst, 1);
        assertThat(dst).containsExactly(0f, 0f, 1f, 0.2f, 0f, 0f);
        TensorBridge.toModelInput("f", TensorCodec.fromFloats(new float[] {0.5f, 0.25f}, DType.FLOAT32, 1, 2), 2, dst, 4);
        assertThat(dst[4]).isEqualTo(0.5f);
        assertThat(dst[5]).isEqualTo(0.25f);
    }

    @Test
    void shouldScaleEveryByteValueToExactlyTheFloatOfItsDivisionBy255FromAnyBuffer() {
        byte[] all = new byte[256];
        for (int v = 0; v < 256; v++) {
            all[v] = (byte) v;
        }
        // a heap buffer, a slice of a larger array (position and array offset not 0) and a direct buffer
        byte[] padded = new byte[260];
        System.arraycopy(all, 0, padded, 3, 256);
        ByteBuffer direct = ByteBuffer.allocateDirect(256).put(all).flip();
        for (ByteBuffer data : List.of(ByteBuffer.wrap(all), ByteBuffer.wrap(padded, 3, 256).slice(), direct)) {
            float[] dst = new float[257];
            TensorBridge.toModelInput("px", new Tensor(DType.UINT8, List.of(256), data), 256, dst, 1);
            for (int v = 0; v < 256; v++) {
                float divided = (float) v / 255f;
                assertThat(Float.floatToRawIntBits(dst[v + 1])).as("byte " + v).isEqualTo(Float.floatToRawIntBits(divided));
            }
            assertThat(data.position()).as("the record's buffer is not moved").isZero();
        }
    }

    @Test
    void shouldRejectModelInputOfTheWrongSizeOrDtype() {
        float[] dst = new float[784];
        assertThatThrownBy(() -> TensorBridge.toModelInput("px", TensorCodec.fromUint8(new byte[10], 10), 784, dst, 0))
                .isInstanceOfSatisfying(InvalidTensorException.class,
                        e -> assertThat(e.reason()).isEqualTo(InvalidTensorException.Reason.SHAPE));
        assertThatThrownBy(() -> TensorBridge.toModelInput("px", TensorCodec.fromInts(new int[784], 784), 784, dst, 0))
                .isInstanceOfSatisfying(InvalidTensorException.class,
                        e -> assertThat(e.reason()).isEqualTo(InvalidTensorException.Reason.DTYPE));
    }

    @Test
    void shouldRejectATensorWhoseDataDoesNotMatchItsShape() {
        Tensor bad = new Tensor(DType.FLOAT32, List.of(2, 2), ByteBuffer.wrap(new byte[12]));
        assertThatThrownBy(() -> TensorBridge.toNDArray(manager, "bad", bad)).isInstanceOf(InvalidTensorException.class);
    }

    @Test
    void shouldRefuseNdArrayTypesTheWireCannotCarry() {
        assertThatThrownBy(() -> TensorBridge.dtype(DataType.FLOAT64)).isInstanceOf(InvalidTensorException.class);
    }

    private static byte[] bytes(ByteBuffer b) {
        ByteBuffer d = b.duplicate();
        byte[] out = new byte[d.remaining()];
        d.get(out);
        return out;
    }
}
