package io.kdstream.streams.internals;

import io.kdstream.avro.TrainingStep;
import io.kdstream.streams.StepFixtures;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class LossAccumulatorTaskTermTest {

    private static TrainingStep step(long n, double task, double kd, Integer labelled) {
        TrainingStep s = StepFixtures.step(n, task, kd, task + kd);
        s.setAlpha(0.9);
        s.setLabelledSamples(labelled);
        return s;
    }

    @Test
    void shouldLeaveStepsWithoutATaskTermOutOfTheLossRatio() {
        // Given two steps with labelled examples and one all-unlabelled batch (task loss 0 by construction)
        LossAccumulator acc = LossAccumulator.empty()
                .add(step(1, 2.0, 1.0, 3))
                .add(step(2, 0.0, 5.0, 0))
                .add(step(3, 2.0, 3.0, 1));

        // Then the ratio compares the KD and task losses of the two steps that had both
        assertThat(acc.ratio()).isCloseTo((1.0 + 3.0) / (2.0 + 2.0), within(1e-12));
        assertThat(acc.records()).isEqualTo(3);
        assertThat(acc.finite()).isEqualTo(3);
        assertThat(acc.meanTotalLoss()).isCloseTo((3.0 + 5.0 + 5.0) / 3, within(1e-12));
    }

    @Test
    void shouldTreatStepsFromWritersWithoutTheLabelledCountAsFullyLabelled() {
        LossAccumulator acc = LossAccumulator.empty().add(step(1, 2.0, 1.0, null)).add(step(2, 1.0, 1.0, null));

        assertThat(acc.ratio()).isCloseTo(2.0 / 3.0, within(1e-12));
    }

    @Test
    void shouldHaveNoRatioWhenNoStepHadATaskTerm() {
        LossAccumulator acc = LossAccumulator.empty().add(step(1, 0.0, 1.0, 0)).add(step(2, 0.0, 2.0, 0));

        assertThat(acc.ratio()).isNull();
    }
}
