package io.kdstream.it.support;

import io.kdstream.trainer.source.Batch;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The record-by-record check fails on each way a ledger can be wrong, including a loss and a duplicate together. */
class LedgerCheckTest {

    /** Partition 0 holds records 0..9; partition 1 records 0..4 and a transaction marker at 5 (end offset 6). */
    private static final Map<Integer, LedgerCheck.Partition> HELD = Map.of(
            0, new LedgerCheck.Partition(0, 10, records(0, 10)),
            1, new LedgerCheck.Partition(0, 6, records(0, 5)));

    private static TreeSet<Long> records(long from, long to) {
        TreeSet<Long> out = new TreeSet<>();
        LongStream.range(from, to).forEach(out::add);
        return out;
    }

    private static Batch.Segment seg(int p, long start, long end) {
        return new Batch.Segment(p, start, end);
    }

    private static final List<List<Batch.Segment>> ONE_EPOCH = List.of(
            List.of(seg(0, 0, 4), seg(1, 0, 2)), List.of(seg(0, 4, 10)), List.of(seg(1, 2, 6)));

    @Test
    void shouldPassALedgerThatTrainsEveryRecordOncePerEpoch() {
        assertThat(LedgerCheck.assertEveryRecordOncePerEpoch(ONE_EPOCH, HELD, 1)).isEqualTo(15);
        List<List<Batch.Segment>> two = new java.util.ArrayList<>(ONE_EPOCH);
        two.addAll(List.of(List.of(seg(1, 0, 5)), List.of(seg(0, 0, 10), seg(1, 5, 6))));
        assertThat(LedgerCheck.assertEveryRecordOncePerEpoch(two, HELD, 2)).isEqualTo(15);
        // a single trainer's segments skip the marker between batches and at the end
        assertThat(LedgerCheck.assertEveryRecordOncePerEpoch(List.of(List.of(seg(0, 0, 10)), List.of(seg(1, 0, 5))), HELD, 1))
                .isEqualTo(15);
    }

    @Test
    void shouldFailWhenADuplicateAndALossCancelOut() {
        // as many offsets as records, so a sum of samples agrees: record 0:3 twice, record 0:9 never
        List<List<Batch.Segment>> ledger = List.of(List.of(seg(0, 0, 4), seg(1, 0, 5)), List.of(seg(0, 3, 9)));
        assertThatThrownBy(() -> LedgerCheck.assertEveryRecordOncePerEpoch(ledger, HELD, 1)).isInstanceOf(AssertionError.class);
    }

    @Test
    void shouldFailOnAMissingRecordASegmentBeyondTheEndOrAnotherEpochCount() {
        List<List<Batch.Segment>> missing = List.of(List.of(seg(0, 0, 9), seg(1, 0, 5)));
        assertThatThrownBy(() -> LedgerCheck.assertEveryRecordOncePerEpoch(missing, HELD, 1)).isInstanceOf(AssertionError.class);
        List<List<Batch.Segment>> beyond = List.of(List.of(seg(0, 0, 11), seg(1, 0, 5)));
        assertThatThrownBy(() -> LedgerCheck.assertEveryRecordOncePerEpoch(beyond, HELD, 1)).isInstanceOf(AssertionError.class);
        assertThatThrownBy(() -> LedgerCheck.assertEveryRecordOncePerEpoch(ONE_EPOCH, HELD, 2)).isInstanceOf(AssertionError.class);
        List<List<Batch.Segment>> otherPartition = List.of(List.of(seg(0, 0, 10), seg(1, 0, 5), seg(2, 0, 1)));
        assertThatThrownBy(() -> LedgerCheck.assertEveryRecordOncePerEpoch(otherPartition, HELD, 1))
                .isInstanceOf(AssertionError.class);
    }

    @Test
    void shouldFailWhenARecordIsTrainedTwiceInOneEpochAndNeverInTheOther() {
        // two epochs' worth of each record of partition 1 in total, but 1:4 twice in the first pass and not in the second
        List<List<Batch.Segment>> ledger = List.of(
                List.of(seg(0, 0, 10), seg(1, 0, 5)), List.of(seg(1, 4, 5)),
                List.of(seg(0, 0, 10), seg(1, 0, 4)));
        assertThatThrownBy(() -> LedgerCheck.assertEveryRecordOncePerEpoch(ledger, HELD, 2)).isInstanceOf(AssertionError.class);
    }
}
