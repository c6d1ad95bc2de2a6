package io.kdstream.trainer.loss;

import ai.djl.ndarray.NDArray;

import java.util.List;

/**
 * {@code kd.loss=dkd}: decoupled KD ({@link Losses#dkd}), weighting its target-class term by {@code kd.dkd.alpha}
 * and its non-target term by {@code kd.dkd.beta}; at the scheduled temperature (CTKD does not apply).
 */
public final class DecoupledKd implements DistillationLoss {
    public static final String ALPHA_CONFIG = "kd.dkd.alpha";
    public static final String BETA_CONFIG = "kd.dkd.beta";
    public static final Kind KIND = new Kind("dkd", "decoupled KD", List.of(
            new Key(ALPHA_CONFIG, 1.0, 0.0, "Weight of the target-class term (TCKD) of DKD."),
            new Key(BETA_CONFIG, 8.0, 0.0, "Weight of the non-target term (NCKD) of DKD.")), false,
            settings -> new DecoupledKd(settings.applyAsDouble(ALPHA_CONFIG), settings.applyAsDouble(BETA_CONFIG)));

    private final double alpha;
    private final double beta;

    public DecoupledKd(double alpha, double beta) {
        this.alpha = alpha;
        this.beta = beta;
    }

    @Override
    public NDArray compute(Inputs in) {
        return Losses.dkd(in.student(), in.teacher(), in.targets().get(), alpha, beta, in.scheduledTemperature());
    }
}
