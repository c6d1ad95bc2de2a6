package io.kdstream.trainer.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Curriculum temperature (CTKD): a learnable scalar temperature that plays adversarially against the student. The
 * temperature reaches the distillation term through a gradient-reversal layer, so the same backward pass that lowers
 * the loss for the student raises it for the temperature, scaled by λ; λ follows a half-cosine ramp from 0 to
 * {@code lambdaMax} over {@code rampSteps}. After each update the temperature is projected into
 * {@code [min, max]}. An optional regulariser {@code weight · (T − anchor)²} (not reversed) pulls T toward the
 * anchor; without it the adversarial temperature runs to its clamp.
 */
public final class LearnableTemperature {
    /** Name of the temperature in the trainable state and the checkpoint. */
    public static final String NAME = "ctkd.temperature";

    private final NDArray value;
    private final double min;
    private final double max;
    private final Schedule lambda;
    private final double anchor;
    private final double anchorWeight;

    private LearnableTemperature(NDArray value, double min, double max, Schedule lambda, double anchor, double anchorWeight) {
        this.value = value;
        this.min = min;
        this.max = max;
        this.lambda = lambda;
        this.anchor = anchor;
        this.anchorWeight = anchorWeight;
    }

    /**
     * Creates the temperature in {@code manager}, starting at {@code anchor}.
     *
     * @param lambdaMax     final strength of the gradient reversal
     * @param rampSteps     steps of the half-cosine ramp of λ from 0 to {@code lambdaMax}
     * @param anchorWeight  weight of {@code (T − anchor)²}; 0 disables the regulariser
     */
    public static LearnableTemperature create(NDManager manager, double anchor, double min, double max, double lambdaMax,
                                              long rampSteps, double anchorWeight) {
        if (!(min > 0 && min <= anchor && anchor <= max && Double.isFinite(max))) {
            throw new IllegalArgumentException("CTKD temperature needs 0 < min <= anchor <= max, got min=" + min
                    + " anchor=" + anchor + " max=" + max);
        }
        if (!(anchorWeight >= 0) || !(lambdaMax >= 0)) {
            throw new IllegalArgumentException("lambdaMax and anchorWeight must be >= 0");
        }
        NDArray t = manager.create((float) anchor);
        t.setName(NAME);
        t.setRequiresGradient(true);
        return new LearnableTemperature(t, min, max, new Schedule.Rising(lambdaMax, Math.max(1, rampSteps)), anchor, anchorWeight);
    }

    /** The trainable scalar (the optimiser updates it; the checkpoint stores it). */
    public NDArray parameter() {
        return value;
    }

    /** Current temperature as a number. */
    public double current() {
        return value.getFloat();
    }

    /** Strength of the gradient reversal at {@code step}. */
    public double lambdaAt(long step) {
        return lambda.valueAt(step);
    }

    /** The temperature to feed into the distillation term at {@code step}: the parameter through gradient reversal. */
    public NDArray forLoss(NDManager batchManager, long step) {
        // Lift the parameter into the batch scope first, so every intermediate lives (and dies) there.
        NDArray t = batchManager.create(0f).add(value);
        return Losses.gradientReversal(t, lambdaAt(step));
    }

    /** {@code weight · (T − anchor)²}, or null when the regulariser is disabled. */
    public NDArray regularizer(NDManager batchManager) {
        if (anchorWeight == 0) {
            return null;
        }
        return Losses.scale(batchManager.create((float) -anchor).add(value).square(), anchorWeight);
    }

    /** Projects the temperature back into {@code [min, max]} after an update. */
    public void project() {
        float t = value.getFloat();
        float clamped = (float) Math.min(max, Math.max(min, t));
        if (clamped != t || Float.isNaN(t)) {
            value.set(new float[] {Float.isNaN(t) ? (float) anchor : clamped});
        }
    }

    public double min() {
        return min;
    }

    public double max() {
        return max;
    }
}
