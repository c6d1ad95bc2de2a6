package io.kdstream.teacher;

import io.kdstream.core.KdException;
import io.kdstream.teacher.internals.BatchTranslator;

import ai.djl.inference.Predictor;
import ai.djl.translate.TranslateException;

/**
 * Batched inference for one thread. Not thread-safe: each worker thread owns one. Native memory of a batch is freed
 * when {@link #predict} returns.
 */
public final class TeacherPredictor implements AutoCloseable {

    private final Predictor<BatchTranslator.Input, BatchOutput> predictor;
    private final int inputSize;

    TeacherPredictor(Predictor<BatchTranslator.Input, BatchOutput> predictor, int inputSize) {
        this.predictor = predictor;
        this.inputSize = inputSize;
    }

    /**
     * Runs the model on {@code n} examples stored contiguously in {@code inputs} (float32 in [0, 1], row-major,
     * {@code n * inputSize} values from index 0; the array may be longer).
     *
     * @throws KdException when the model fails
     */
    public BatchOutput predict(float[] inputs, int n) {
        if (n < 1 || (long) n * inputSize > inputs.length) {
            throw new IllegalArgumentException("need n >= 1 and n * " + inputSize + " <= " + inputs.length + ", got n = " + n);
        }
        try {
            return predictor.predict(new BatchTranslator.Input(inputs, n));
        } catch (TranslateException e) {
            throw new KdException("Teacher inference failed on a batch of " + n + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        predictor.close();
    }
}
