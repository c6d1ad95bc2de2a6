package io.kdstream.trainer.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Activation;

/**
 * Distillation losses over DJL arrays. Logits are {@code [batch, classes]} float32; labels are integer class indices
 * {@code [batch]}. Every loss returns a scalar: the mean over the batch of a per-example sum over classes, so that
 * its gradient with respect to one example's logits carries a {@code 1/batch} factor.
 *
 * <p>Every intermediate array is created in the manager of the first operand, so callers keep the memory scoped by
 * passing arrays that live in a per-batch manager.
 */
public final class Losses {
    /** Logit offset that removes the target class from a softmax (decoupled KD). */
    private static final float MASK = 1000f;
    /** Floor of the binary target/non-target probabilities before their logarithm (decoupled KD). */
    private static final float PROB_FLOOR = 1e-7f;

    private Losses() {
    }

    /**
     * Hard-label cross-entropy: {@code mean_i(-log softmax(z_i)[y_i])}. The log-probability of each label is gathered,
     * not multiplied by a one-hot matrix and summed: the same values bit for bit (the other nine products are zeros)
     * with fewer engine calls and no {@code batch × classes} temporaries.
     *
     * @param labels class indices, {@code [batch]} or {@code [batch, 1]}, any integer type ({@code [batch, 1]} INT64
     *               costs no conversion)
     */
    public static NDArray crossEntropy(NDArray logits, NDArray labels) {
        return logits.logSoftmax(1).gather(classIndex(labels), 1).neg().mean();
    }

    /**
     * Hard-label cross-entropy over the labelled examples only: {@code Σ_i m_i·(-log softmax(z_i)[y_i]) / max(1, Σ m)},
     * where {@code mask} holds 1 for a labelled example and 0 for an unlabelled one (whose entry of {@code labels} may
     * be any valid class index). Zero, with a zero gradient, when no example is labelled.
     */
    public static NDArray crossEntropy(NDArray logits, NDArray labels, NDArray mask) {
        return crossEntropy(logits, labels, mask, mask.sum().getFloat());
    }

    /**
     * {@link #crossEntropy(NDArray, NDArray, NDArray)} with the number of labelled examples given by the caller, who
     * knows it without asking the engine (one read-back fewer per step).
     *
     * @param mask     1/0 per example, {@code [batch]} or {@code [batch, 1]}
     * @param labelled {@code Σ mask}
     */
    public static NDArray crossEntropy(NDArray logits, NDArray labels, NDArray mask, float labelled) {
        NDArray perExample = logits.logSoftmax(1).gather(classIndex(labels), 1).neg();
        NDArray column = mask.getShape().dimension() == 1 ? mask.reshape(-1, 1) : mask;
        return divide(perExample.mul(column).sum(), Math.max(1f, labelled));
    }

    /** Class indices as the {@code [batch, 1]} INT64 index {@code gather} takes; no engine call if they are one. */
    private static NDArray classIndex(NDArray labels) {
        NDArray index = labels.getDataType() == DataType.INT64 ? labels : labels.toType(DataType.INT64, false);
        return index.getShape().dimension() == 1 ? index.reshape(-1, 1) : index;
    }

    /**
     * Hinton's distillation term {@code T² · mean_i KL(p_t ‖ p_s)} (forward) or {@code T² · mean_i KL(p_s ‖ p_t)}
     * (reverse), with {@code p = softmax(z / T)}. The teacher side never receives a gradient.
     *
     * <p>For the forward direction the gradient with respect to the student logits is {@code T · (p_s − p_t) / batch}.
     */
    public static NDArray hintonKd(NDArray student, NDArray teacher, NDArray temperature, KlDirection direction) {
        NDArray logPs = student.div(temperature).logSoftmax(1);
        NDArray logPt = teacher.stopGradient().div(temperature).logSoftmax(1);
        NDArray kl = direction == KlDirection.FORWARD ? klFromLogs(logPt, logPs) : klFromLogs(logPs, logPt);
        return kl.mul(temperature.square());
    }

    /** {@link #hintonKd(NDArray, NDArray, NDArray, KlDirection)} with a fixed temperature. */
    public static NDArray hintonKd(NDArray student, NDArray teacher, double temperature, KlDirection direction) {
        requirePositive(temperature);
        NDArray t = student.getManager().create((float) temperature);
        return hintonKd(student, teacher, t, direction);
    }

    /** {@code (1 − α) · task + α · kd}. */
    public static NDArray mix(NDArray task, NDArray kd, double alpha) {
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("alpha must be in [0, 1], got " + alpha);
        }
        return scale(task, 1 - alpha).add(scale(kd, alpha));
    }

    /**
     * Binary (sigmoid) distillation for multi-label heads: per logit the Bernoulli divergence
     * {@code KL(Bern(σ(t/T)) ‖ Bern(σ(s/T)))}, summed over logits, averaged over the batch, scaled by {@code T²}.
     * Zero when the student's logits equal the teacher's.
     */
    public static NDArray binaryKd(NDArray student, NDArray teacher, double temperature) {
        requirePositive(temperature);
        float invT = (float) (1 / temperature);
        NDArray s = scale(student, invT);
        NDArray t = scale(teacher.stopGradient(), invT);
        NDArray pt = Activation.sigmoid(t);
        // log σ(x) = −softplus(−x); log(1 − σ(x)) = −softplus(x)
        NDArray logPt = Activation.softPlus(t.neg()).neg();
        NDArray log1mPt = Activation.softPlus(t).neg();
        NDArray logPs = Activation.softPlus(s.neg()).neg();
        NDArray log1mPs = Activation.softPlus(s).neg();
        NDArray kl = pt.mul(logPt.sub(logPs)).add(pt.neg().add(1f).mul(log1mPt.sub(log1mPs)));
        return scale(kl.sum(new int[] {1}).mean(), temperature * temperature);
    }

    /**
     * Logit standardisation (LSKD): each example's logits become {@code (z − mean(z)) / (std(z) + eps)} over the class
     * axis (population standard deviation), so the distillation term compares shapes of the distributions rather than
     * their scales.
     */
    public static NDArray standardize(NDArray logits, double eps) {
        NDArray centred = logits.sub(logits.mean(new int[] {1}, true));
        NDArray std = centred.square().mean(new int[] {1}, true).sqrt();
        return centred.div(std.add((float) eps));
    }

    /**
     * Decoupled KD (DKD): {@code T² · (α · TCKD + β · NCKD)}, batch mean. TCKD is the binary divergence between the
     * teacher's and the student's (target, non-target) probabilities; NCKD the divergence between their distributions
     * over the non-target classes alone. Both in the forward direction (teacher first).
     */
    public static NDArray dkd(NDArray student, NDArray teacher, NDArray labels, double alpha, double beta, double temperature) {
        requirePositive(temperature);
        int classes = classes(student);
        float invT = (float) (1 / temperature);
        NDArray oneHot = labels.oneHot(classes);
        NDArray s = scale(student, invT);
        NDArray t = scale(teacher.stopGradient(), invT);
        // TCKD on (p_target, 1 − p_target)
        NDArray psTarget = s.softmax(1).mul(oneHot).sum(new int[] {1});
        NDArray ptTarget = t.softmax(1).mul(oneHot).sum(new int[] {1});
        NDArray tckd = binaryKl(ptTarget, psTarget);
        // NCKD on the softmax over non-target classes
        NDArray mask = oneHot.mul(MASK);
        NDArray logQs = s.sub(mask).logSoftmax(1);
        NDArray logQt = t.sub(mask).logSoftmax(1);
        NDArray nckd = klFromLogs(logQt, logQs);
        return scale(scale(tckd, alpha).add(scale(nckd, beta)), temperature * temperature);
    }

    /**
     * Gradient reversal: the forward value is {@code x}; the gradient flowing back is multiplied by {@code −λ}. Built
     * from {@code stopGradient(x)·(1 + λ) − λ·x}, so no custom autograd function is needed.
     */
    public static NDArray gradientReversal(NDArray x, double lambda) {
        float l = (float) lambda;
        return scale(x.stopGradient(), 1f + l).sub(scale(x, l));
    }

    /**
     * {@code x · factor}, with the factor as an array that stays open in {@code x}'s manager (the step's scope). DJL's
     * {@code mul(Number)} turns the factor into a temporary array over a Java direct buffer and closes it at once,
     * while the autograd graph keeps it for the backward pass: a garbage collection in between frees memory the
     * backward pass then reads, and the gradient changes from run to run. Every constant factor under gradient
     * recording goes through here or {@link #divide}.
     */
    public static NDArray scale(NDArray x, double factor) {
        return x.mul(x.getManager().create((float) factor));
    }

    /** {@code x / divisor}, for the reason given at {@link #scale}. */
    public static NDArray divide(NDArray x, double divisor) {
        return x.div(x.getManager().create((float) divisor));
    }

    /** {@code mean_i Σ_c exp(logP)(logP − logQ)}: KL(P ‖ Q) from log-probabilities. */
    static NDArray klFromLogs(NDArray logP, NDArray logQ) {
        return logP.exp().mul(logP.sub(logQ)).sum(new int[] {1}).mean();
    }

    /** Batch mean of KL(Bern(p) ‖ Bern(q)) with probabilities floored away from 0 and 1. */
    private static NDArray binaryKl(NDArray p, NDArray q) {
        NDArray p1 = p.clip(PROB_FLOOR, 1 - PROB_FLOOR);
        NDArray q1 = q.clip(PROB_FLOOR, 1 - PROB_FLOOR);
        NDArray p0 = p1.neg().add(1f);
        NDArray q0 = q1.neg().add(1f);
        return p1.mul(p1.log().sub(q1.log())).add(p0.mul(p0.log().sub(q0.log()))).mean();
    }

    private static int classes(NDArray logits) {
        if (logits.getShape().dimension() != 2) {
            throw new IllegalArgumentException("logits must be [batch, classes], got " + logits.getShape());
        }
        return Math.toIntExact(logits.getShape().get(1));
    }

    private static void requirePositive(double temperature) {
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a positive finite number, got " + temperature);
        }
    }
}
