package io.kdstream.trainer.loss;

import ai.djl.ndarray.NDArray;

import java.util.List;

/** {@code kd.loss=hinton}: softmax KL at temperature T, scaled by T² ({@link Losses#hintonKd}). */
public final class HintonKd implements DistillationLoss {
    public static final Kind KIND = new Kind("hinton", "softmax KL", List.of(), true, settings -> new HintonKd());

    @Override
    public NDArray compute(Inputs in) {
        return Losses.hintonKd(in.student(), in.teacher(), in.temperature(), in.direction());
    }
}
