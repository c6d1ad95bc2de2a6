package io.kdstream.teacher.internals;

import io.kdstream.core.KdException;
import io.kdstream.teacher.BatchOutput;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.translate.NoBatchifyTranslator;
import ai.djl.translate.TranslatorContext;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a contiguous float batch into {@code [n, inputShape...]} and copies the model's outputs (logits, then
 * features) back into Java arrays, so that every NDArray stays in the predictor's per-call scope.
 */
public final class BatchTranslator implements NoBatchifyTranslator<BatchTranslator.Input, BatchOutput> {

    /** {@code n} examples stored contiguously from index 0 of {@code data}. */
    public record Input(float[] data, int n) {
    }

    private final long[] inputShape;
    private final int inputSize;
    private final int expectedFeatures;
    /** Reused for every batch of the owning predictor (one thread): a heap buffer would cost a fresh direct copy each time. */
    private ByteBuffer staging;

    /**
     * @param expectedFeatures feature outputs the model must return after the logits; -1 to accept any number
     */
    public BatchTranslator(List<Integer> inputShape, int expectedFeatures) {
        this.inputShape = inputShape.stream().mapToLong(Integer::longValue).toArray();
        this.inputSize = inputShape.stream().reduce(1, (a, b) -> a * b);
        this.expectedFeatures = expectedFeatures;
    }

    @Override
    public NDList processInput(TranslatorContext ctx, Input input) {
        long[] shape = new long[inputShape.length + 1];
        shape[0] = input.n();
        System.arraycopy(inputShape, 0, shape, 1, inputShape.length);
        int count = input.n() * inputSize;
        if (staging == null || staging.capacity() < count * Float.BYTES) {
            staging = ByteBuffer.allocateDirect(count * Float.BYTES).order(ByteOrder.nativeOrder());
        }
        staging.clear();
        staging.asFloatBuffer().put(input.data(), 0, count);
        staging.limit(count * Float.BYTES);
        NDArray x = ctx.getNDManager().create(staging, new Shape(shape), DataType.FLOAT32);
        return new NDList(x);
    }

    @Override
    public BatchOutput processOutput(TranslatorContext ctx, NDList list) {
        if (list.isEmpty()) {
            throw new KdException("The model returned no outputs; expected (logits, features...)");
        }
        if (expectedFeatures >= 0 && list.size() != 1 + expectedFeatures) {
            throw new KdException("The model returned " + list.size() + " outputs; its metadata declares logits and "
                    + expectedFeatures + " feature(s)");
        }
        NDArray logits = list.get(0);
        Shape ls = logits.getShape();
        if (ls.dimension() != 2) {
            throw new KdException("Logits must be [batch, classes], got " + ls);
        }
        int n = Math.toIntExact(ls.get(0));
        List<float[]> features = new ArrayList<>(list.size() - 1);
        List<List<Integer>> shapes = new ArrayList<>(list.size() - 1);
        for (int i = 1; i < list.size(); i++) {
            NDArray f = list.get(i);
            if (f.getShape().dimension() < 2 || f.getShape().get(0) != n) {
                throw new KdException("Feature output " + i + " must have the batch (" + n + ") as first axis, got " + f.getShape());
            }
            features.add(toFloats(f));
            List<Integer> shape = new ArrayList<>();
            for (int d = 1; d < f.getShape().dimension(); d++) {
                shape.add(Math.toIntExact(f.getShape().get(d)));
            }
            shapes.add(shape);
        }
        return new BatchOutput(n, Math.toIntExact(ls.get(1)), toFloats(logits), features, shapes);
    }

    private static float[] toFloats(NDArray a) {
        return a.getDataType() == DataType.FLOAT32 ? a.toFloatArray() : a.toType(DataType.FLOAT32, false).toFloatArray();
    }
}
