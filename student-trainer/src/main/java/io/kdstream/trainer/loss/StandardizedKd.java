package io.kdstream.trainer.loss;

import ai.djl.ndarray.NDArray;

import java.util.List;

/** {@code kd.loss=lskd}: the Hinton term on standardised logits ({@link Losses#standardize}). */
public final class StandardizedKd implements DistillationLoss {
    public static final Kind KIND = new Kind("lskd", "Hinton on standardised logits", List.of(), true,
            settings -> new StandardizedKd());
    /** Added to the standard deviation before dividing by it. */
    static final double EPS = 1e-7;

    @Override
    public NDArray compute(Inputs in) {
        return Losses.hintonKd(Losses.standardize(in.student(), EPS), Losses.standardize(in.teacher(), EPS),
                in.temperature(), in.direction());
    }
}
