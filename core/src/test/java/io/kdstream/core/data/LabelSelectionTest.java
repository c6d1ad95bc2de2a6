package io.kdstream.core.data;

import org.junit.jupiter.api.Test;

import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class LabelSelectionTest {
    private static final int IDS = 20_000;

    private static long kept(LabelSelection s) {
        return IntStream.range(0, IDS).filter(i -> s.keeps("fmnist-train-" + i)).count();
    }

    @Test
    void shouldKeepCloseToTheFractionOfLabels() {
        for (double f : new double[] {0.01, 0.1, 0.5, 0.9}) {
            assertThat(kept(new LabelSelection(f, 42)) / (double) IDS).as("fraction " + f).isCloseTo(f, within(0.01));
        }
        assertThat(kept(new LabelSelection(1.0, 42))).isEqualTo(IDS);
        assertThat(kept(new LabelSelection(0.0, 42))).isZero();
    }

    @Test
    void shouldChooseTheSameRecordsForTheSameIdAndSeedWhateverTheOrder() {
        LabelSelection a = new LabelSelection(0.1, 42);
        LabelSelection b = new LabelSelection(0.1, 42);
        for (int i = IDS - 1; i >= 0; i--) {
            String id = "fmnist-train-" + i;
            assertThat(a.keeps(id)).isEqualTo(b.keeps(id));
        }
    }

    @Test
    void shouldChooseOtherRecordsUnderAnotherSeedAndNestLargerFractions() {
        LabelSelection a = new LabelSelection(0.1, 42);
        LabelSelection other = new LabelSelection(0.1, 43);
        LabelSelection larger = new LabelSelection(0.3, 42);
        long both = IntStream.range(0, IDS).filter(i -> a.keeps("id-" + i) && other.keeps("id-" + i)).count();
        // independent 10% samples overlap in about 1% of the ids
        assertThat(both / (double) IDS).isCloseTo(0.01, within(0.005));
        assertThat(IntStream.range(0, IDS).filter(i -> a.keeps("id-" + i)).allMatch(i -> larger.keeps("id-" + i))).isTrue();
    }
}
