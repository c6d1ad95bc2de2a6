package io.kdstream.ops.report;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AxisTest {

    @Test
    void shouldWidenRangeToNiceTicks() {
        Axis a = Axis.covering(0.13, 2.31, 6);

        assertThat(a.step()).isEqualTo(0.5);
        assertThat(a.min()).isEqualTo(0.0);
        assertThat(a.max()).isEqualTo(2.5);
        assertThat(a.ticks()).containsExactly(0.0, 0.5, 1.0, 1.5, 2.0, 2.5);
    }

    @Test
    void shouldPadASinglePointRange() {
        Axis a = Axis.covering(5, 5, 6);

        assertThat(a.min()).isLessThan(5);
        assertThat(a.max()).isGreaterThan(5);
    }

    @Test
    void shouldRefuseNonFiniteRanges() {
        assertThatThrownBy(() -> Axis.covering(0, Double.NaN, 5)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldThinLongSeriesKeepingEnds() {
        Series.Builder b = Series.builder("s");
        for (int i = 0; i < 5000; i++) {
            b.add(i, i * 2);
        }
        var thinned = LineChart.thin(b.build().points(), 100);

        assertThat(thinned).hasSize(100);
        assertThat(thinned.get(0).x()).isEqualTo(0);
        assertThat(thinned.get(99).x()).isEqualTo(4999);
    }

    @Test
    void shouldFormatNumbersCompactly() {
        assertThat(Svg.coord(12.0)).isEqualTo("12");
        assertThat(Svg.coord(12.345)).isEqualTo("12.35");
        assertThat(Svg.coord(12.5)).isEqualTo("12.5");
        assertThat(Svg.tick(0.5, 0.5)).isEqualTo("0.5");
        assertThat(Svg.tick(2000, 500)).isEqualTo("2,000");
        assertThat(Svg.number(0.91)).isEqualTo("0.91");
    }
}
