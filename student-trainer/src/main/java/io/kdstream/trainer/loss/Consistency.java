package io.kdstream.trainer.loss;

import ai.djl.ndarray.NDArray;

/**
 * The consistency term of the mean-teacher recipe: the student's predictions on one perturbed view pulled towards the
 * EMA teacher's softened predictions on another, {@code T² · mean_i KL(p_ema ‖ p_student)} with
 * {@code p = softmax(z / T)}; the teacher side never receives a gradient. Its weight rises along the sigmoid ramp
 * {@code exp(−5 (1 − s/N)²)} over the first {@code N} steps.
 */
public final class Consistency {
    private Consistency() {
    }

    /** The consistency term (forward KL at temperature {@code temperature}, scaled by its square). */
    public static NDArray loss(NDArray student, NDArray emaTeacher, double temperature) {
        return Losses.hintonKd(student, emaTeacher, temperature, KlDirection.FORWARD);
    }

    /** The weight at {@code step} (from 0) of a term of full weight {@code weight} ramped up over {@code rampSteps}. */
    public static double weightAt(double weight, long rampSteps, long step) {
        if (rampSteps <= 0 || step >= rampSteps) {
            return weight;
        }
        double phase = 1.0 - Math.max(0, step) / (double) rampSteps;
        return weight * Math.exp(-5.0 * phase * phase);
    }
}
