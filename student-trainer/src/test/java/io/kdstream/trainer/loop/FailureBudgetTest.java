package io.kdstream.trainer.loop;

import io.kdstream.core.KdException;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FailureBudgetTest {

    @Test
    void shouldTolerateFailuresUpToTheLimitPerWindow() {
        FailureBudget budget = new FailureBudget(2, 10, "k1/k2");
        budget.recordFailure(1, "nan");
        budget.recordFailure(5, "nan");
        budget.recordFailure(11, "nan"); // step 1 has left the window (steps 2..11)
        assertThat(budget.total()).isEqualTo(3);
    }

    @Test
    void shouldStopWithAClearErrorWhenTheWindowOverflows() {
        FailureBudget budget = new FailureBudget(2, 10, "trainer.failures.max.per.window");
        budget.recordFailure(1, "nan");
        budget.recordFailure(2, "nan");
        assertThatThrownBy(() -> budget.recordFailure(3, "loss is NaN"))
                .isInstanceOf(KdException.class)
                .hasMessageContaining("3 failed steps within the last 10 steps")
                .hasMessageContaining("trainer.failures.max.per.window")
                .hasMessageContaining("loss is NaN");
    }
}
