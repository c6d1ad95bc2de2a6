package io.kdstream.streams;

import io.kdstream.avro.TrainingStep;

/** Training steps for unit tests of the internals. */
public final class StepFixtures {

    private StepFixtures() {
    }

    /** A step of run-1/t-1 at event time step * 1000 ms. */
    public static TrainingStep step(long step, double task, double kd, double total) {
        return MonitorHarness.step("run-1", "t-1", step, step * 1000, task, kd, total);
    }
}
