package io.kdstream.trainer.loss;

import ai.djl.ndarray.NDArray;

import java.util.List;

/**
 * {@code kd.loss=binary}: per-logit sigmoid KD for multi-label heads ({@link Losses#binaryKd}), at the scheduled
 * temperature (CTKD does not apply).
 */
public final class BinaryKd implements DistillationLoss {
    public static final Kind KIND = new Kind("binary", "per-logit sigmoid KD for multi-label heads", List.of(), false,
            settings -> new BinaryKd());

    @Override
    public NDArray compute(Inputs in) {
        return Losses.binaryKd(in.student(), in.teacher(), in.scheduledTemperature());
    }
}
