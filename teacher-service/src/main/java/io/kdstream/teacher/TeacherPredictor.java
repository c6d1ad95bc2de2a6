package io.kdstream.teacher;

import io.kdstream.core.KdException;
import io.kdstream.teacher.internals.BatchTranslator;

import ai.djl.inference.Predictor;
import ai.djl.translate.TranslateException;

import java.util.List;

/**
 * Batched inference for one thread. Not thread-safe: each worker thread owns one. Native memory of a batch is freed
 * when {@link #predict} returns. For an ensemble it runs every member on the batch and returns the mean of their
 * logits with the first member's feature maps.
 */
public final class TeacherPredictor implements AutoCloseable {

    private final List<Predictor<BatchTranslator.Input, BatchOutput>> predictors;
    private final int inputSize;

    TeacherPredictor(List<Predictor<BatchTranslator.Input, BatchOutput>> predictors, int inputSize) {
        this.predictors = List.copyOf(predictors);
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
        BatchOutput first = run(0, inputs, n);
        if (predictors.size() == 1) {
            return first;
        }
        float[] sum = first.logits().clone();
        for (int m = 1; m < predictors.size(); m++) {
            float[] logits = run(m, inputs, n).logits();
            for (int i = 0; i < sum.length; i++) {
                sum[i] += logits[i];
            }
        }
        float members = predictors.size();
        for (int i = 0; i < sum.length; i++) {
            sum[i] /= members;
        }
        return new BatchOutput(n, first.numClasses(), sum, first.features(), first.featureShapes());
    }

    private BatchOutput run(int member, float[] inputs, int n) {
        try {
            return predictors.get(member).predict(new BatchTranslator.Input(inputs, n));
        } catch (TranslateException e) {
            String which = predictors.size() == 1 ? "" : " (ensemble member " + (member + 1) + " of " + predictors.size() + ")";
            throw new KdException("Teacher inference failed on a batch of " + n + which + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        predictors.forEach(Predictor::close);
    }
}
