package io.kdstream.trainer.group;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelAveragerTest {

    private static List<ModelAverager.Contribution> contributions(int members, int size, long seed) {
        Random random = new Random(seed);
        List<ModelAverager.Contribution> out = new ArrayList<>();
        for (int m = 0; m < members; m++) {
            float[] p = new float[size];
            for (int i = 0; i < size; i++) {
                // wide magnitudes, so a different summation order would round differently
                p[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(8) - 4));
            }
            out.add(new ModelAverager.Contribution("member-" + (char) ('a' + m) + "-" + random.nextInt(1000),
                    1 + random.nextInt(500), p));
        }
        return out;
    }

    @Test
    void shouldGiveTheSameBytesWhateverOrderTheContributionsArriveIn() {
        List<ModelAverager.Contribution> given = contributions(5, 4096, 7);
        byte[] reference = ModelSyncCodec.toBytes(ModelAverager.average(given));
        Random random = new Random(11);
        for (int trial = 0; trial < 20; trial++) {
            List<ModelAverager.Contribution> shuffled = new ArrayList<>(given);
            Collections.shuffle(shuffled, random);
            assertThat(ModelSyncCodec.toBytes(ModelAverager.average(shuffled))).isEqualTo(reference);
        }
    }

    @Test
    void shouldSumInMemberOrderRatherThanArrivalOrder() {
        // a naive float sum in arrival order is order-dependent on these values; the averager is not
        float[] big = {1e8f};
        float[] small = {1f};
        float[] negative = {-1e8f};
        List<ModelAverager.Contribution> a = List.of(new ModelAverager.Contribution("a", 1, big),
                new ModelAverager.Contribution("b", 1, small), new ModelAverager.Contribution("c", 1, negative));
        List<ModelAverager.Contribution> b = List.of(a.get(2), a.get(0), a.get(1));
        assertThat(ModelAverager.average(a)).containsExactly(ModelAverager.average(b));
        assertThat(ModelAverager.average(a)[0]).isEqualTo((float) (1.0 / 3));
    }

    @Test
    void shouldWeightByTrainedSamples() {
        float[] avg = ModelAverager.average(List.of(new ModelAverager.Contribution("a", 3, new float[] {1f, 0f}),
                new ModelAverager.Contribution("b", 1, new float[] {5f, 4f}),
                new ModelAverager.Contribution("c", 0, new float[] {100f, 100f})));
        assertThat(avg).containsExactly(2f, 1f);
    }

    @Test
    void shouldTakeThePlainMeanWhenNoMemberTrained() {
        float[] avg = ModelAverager.average(List.of(new ModelAverager.Contribution("a", 0, new float[] {1f}),
                new ModelAverager.Contribution("b", 0, new float[] {3f})));
        assertThat(avg).containsExactly(2f);
    }

    @Test
    void shouldRejectMismatchedSizesAndDuplicateMembers() {
        assertThatThrownBy(() -> ModelAverager.average(List.of(new ModelAverager.Contribution("a", 1, new float[2]),
                new ModelAverager.Contribution("b", 1, new float[3])))).hasMessageContaining("b").hasMessageContaining("3");
        assertThatThrownBy(() -> ModelAverager.average(List.of(new ModelAverager.Contribution("a", 1, new float[2]),
                new ModelAverager.Contribution("a", 1, new float[2])))).hasMessageContaining("two contributions");
    }
}
