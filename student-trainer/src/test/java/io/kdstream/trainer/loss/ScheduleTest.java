package io.kdstream.trainer.loss;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class ScheduleTest {

    @Test
    void shouldKeepConstantValue() {
        Schedule s = Schedule.parse("4");
        assertThat(s.valueAt(0)).isEqualTo(4.0);
        assertThat(s.valueAt(1_000_000)).isEqualTo(4.0);
        assertThat(Schedule.parse("constant:4")).isEqualTo(s);
    }

    @Test
    void shouldInterpolateLinearlyThenHold() {
        Schedule s = Schedule.parse("linear:1:4:100");
        assertThat(s.valueAt(0)).isEqualTo(1.0);
        assertThat(s.valueAt(50)).isCloseTo(2.5, within(1e-12));
        assertThat(s.valueAt(100)).isEqualTo(4.0);
        assertThat(s.valueAt(500)).isEqualTo(4.0);
    }

    @Test
    void shouldRiseAlongHalfCosineFromZero() {
        Schedule s = Schedule.parse("rising:0.8:10");
        assertThat(s.valueAt(0)).isEqualTo(0.0);
        assertThat(s.valueAt(5)).isCloseTo(0.4, within(1e-12));
        assertThat(s.valueAt(10)).isCloseTo(0.8, within(1e-12));
        assertThat(s.valueAt(3)).isLessThan(s.valueAt(4));
    }

    @Test
    void shouldStepAtBoundaries() {
        Schedule s = Schedule.parse("step:4,2@100,1@200");
        assertThat(s.valueAt(99)).isEqualTo(4.0);
        assertThat(s.valueAt(100)).isEqualTo(2.0);
        assertThat(s.valueAt(199)).isEqualTo(2.0);
        assertThat(s.valueAt(200)).isEqualTo(1.0);
    }

    @Test
    void shouldRoundTripThroughSpec() {
        for (String spec : new String[] {"constant:0.5", "linear:1.0:4.0:100", "rising:0.8:10", "step:4.0,2.0@100,1.0@200"}) {
            Schedule s = Schedule.parse(spec);
            assertThat(Schedule.parse(s.spec())).isEqualTo(s);
        }
    }

    @Test
    void shouldRejectMalformedSpecsWithTheAcceptedForms() {
        assertThatThrownBy(() -> Schedule.parse("cosine:1")).hasMessageContaining("expected constant:V");
        assertThatThrownBy(() -> Schedule.parse("linear:1:2")).hasMessageContaining("expected 3 argument");
        assertThatThrownBy(() -> Schedule.parse("step:4,2@100,1@50")).hasMessageContaining("increasing");
        assertThatThrownBy(() -> Schedule.parse("constant:1e999")).hasMessageContaining("finite");
        assertThatThrownBy(() -> Schedule.parse("abc")).hasMessageContaining("Invalid schedule 'abc'");
    }
}
