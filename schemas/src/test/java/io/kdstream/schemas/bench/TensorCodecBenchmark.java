package io.kdstream.schemas.bench;

import io.kdstream.avro.DType;
import io.kdstream.avro.Tensor;
import io.kdstream.schemas.tensor.TensorCodec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * Throughput of {@link TensorCodec} against a plain copy of the same number of bytes in the same fork: the
 * {@code copy*} methods are the baselines ({@code copy4} for float32, {@code copy2} for the 16-bit formats,
 * {@code copy1} for UINT8). Shapes: a logits vector, an input image, a feature map and a 1 MiB float32 tensor.
 *
 * <p>Each fork has a small, fixed, pre-touched heap, so that the allocating operations measure the codec rather than
 * the operating system handing the heap its first pages (on a virtual machine that can cost far more than the copy).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms128m", "-Xmx128m", "-XX:+AlwaysPreTouch"})
@Warmup(iterations = 3, time = 300, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 4, time = 300, timeUnit = TimeUnit.MILLISECONDS)
public class TensorCodecBenchmark {

    @Param({"10", "1x28x28", "64x7x7", "256x32x32"})
    public String shape;

    private int[] dims;
    private float[] values;
    private float[] decoded;
    private Tensor float32;
    private Tensor float16;
    private Tensor bfloat16;
    private Tensor uint8;
    private byte[] src4;
    private byte[] dst4;
    private byte[] src2;
    private byte[] dst2;
    private byte[] src1;
    private byte[] dst1;
    private ByteBuffer srcBuffer4;

    @Setup
    public void setUp() {
        dims = BenchPayloads.shape(shape);
        int n = BenchPayloads.elements(dims);
        values = BenchPayloads.floats(n, 7);
        decoded = new float[n];
        float32 = TensorCodec.fromFloats(values, DType.FLOAT32, dims);
        float16 = TensorCodec.fromFloats(values, DType.FLOAT16, dims);
        bfloat16 = TensorCodec.fromFloats(values, DType.BFLOAT16, dims);
        uint8 = TensorCodec.fromUint8(BenchPayloads.pixels(n, 7), dims);
        src4 = BenchPayloads.pixels(4 * n, 11);
        dst4 = new byte[4 * n];
        src2 = BenchPayloads.pixels(2 * n, 12);
        dst2 = new byte[2 * n];
        src1 = BenchPayloads.pixels(n, 13);
        dst1 = new byte[n];
        srcBuffer4 = ByteBuffer.wrap(BenchPayloads.pixels(4 * n, 14));
    }

    // ------------------------------------------------------------------ baselines: plain copies

    /** System.arraycopy of the bytes of a float32 tensor of this shape. */
    @Benchmark
    public byte[] copy4() {
        System.arraycopy(src4, 0, dst4, 0, src4.length);
        return dst4;
    }

    /** A heap ByteBuffer's bulk get of the bytes of a float32 tensor of this shape. */
    @Benchmark
    public byte[] copyBuffer4() {
        srcBuffer4.get(0, dst4);
        return dst4;
    }

    /** System.arraycopy of the bytes of a 16-bit tensor of this shape. */
    @Benchmark
    public byte[] copy2() {
        System.arraycopy(src2, 0, dst2, 0, src2.length);
        return dst2;
    }

    /** System.arraycopy of the bytes of a UINT8 tensor of this shape. */
    @Benchmark
    public byte[] copy1() {
        System.arraycopy(src1, 0, dst1, 0, src1.length);
        return dst1;
    }

    // ------------------------------------------------------------------ the codec

    /** Float32 bytes into an existing float[] (how batches are filled). */
    @Benchmark
    public float[] float32Decode() {
        TensorCodec.toFloats("bench", float32, decoded, 0);
        return decoded;
    }

    /** Float32 bytes into a new float[]. */
    @Benchmark
    public float[] float32DecodeNew() {
        return TensorCodec.toFloats("bench", float32);
    }

    /** A float[] into a new FLOAT32 tensor. */
    @Benchmark
    public Tensor float32Encode() {
        return TensorCodec.fromFloats(values, DType.FLOAT32, dims);
    }

    @Benchmark
    public float[] float16Decode() {
        TensorCodec.toFloats("bench", float16, decoded, 0);
        return decoded;
    }

    @Benchmark
    public float[] bfloat16Decode() {
        TensorCodec.toFloats("bench", bfloat16, decoded, 0);
        return decoded;
    }

    /** UINT8 pixels into an existing float[] (the schemas part of building model input; core scales it). */
    @Benchmark
    public float[] uint8Decode() {
        TensorCodec.toFloats("bench", uint8, decoded, 0);
        return decoded;
    }
}
