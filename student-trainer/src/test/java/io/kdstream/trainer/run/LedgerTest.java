package io.kdstream.trainer.run;

import io.kdstream.trainer.source.Batch;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LedgerTest {

    @Test
    void shouldRoundTripStepsAndCutOffStepsAfterTheCheckpoint(@TempDir Path dir) {
        Path file = dir.resolve("ledger.tsv");
        try (Ledger ledger = Ledger.append(file)) {
            ledger.write(1, List.of(new Batch.Segment(0, 0, 20), new Batch.Segment(1, 0, 12)));
            ledger.write(2, List.of(new Batch.Segment(1, 12, 44)));
            ledger.write(3, List.of(new Batch.Segment(0, 20, 52)));
        }
        assertThat(Ledger.read(file)).containsExactly(
                List.of(new Batch.Segment(0, 0, 20), new Batch.Segment(1, 0, 12)),
                List.of(new Batch.Segment(1, 12, 44)),
                List.of(new Batch.Segment(0, 20, 52)));

        Ledger.truncate(file, 2);
        try (Ledger ledger = Ledger.append(file)) {
            ledger.write(3, List.of(new Batch.Segment(0, 20, 40)));
        }
        assertThat(Ledger.read(file)).hasSize(3).last().isEqualTo(List.of(new Batch.Segment(0, 20, 40)));
    }

    @Test
    void shouldRejectALedgerWithAGap(@TempDir Path dir) {
        Path file = dir.resolve("ledger.tsv");
        try (Ledger ledger = Ledger.append(file)) {
            ledger.write(1, List.of(new Batch.Segment(0, 0, 20)));
            ledger.write(3, List.of(new Batch.Segment(0, 20, 40)));
        }
        assertThatThrownBy(() -> Ledger.read(file)).hasMessageContaining("not contiguous");
    }

    @Test
    void shouldRejectMalformedSegments() {
        assertThatThrownBy(() -> Batch.Segment.parse("0-12")).hasMessageContaining("PARTITION:START-END");
        assertThatThrownBy(() -> new Batch.Segment(0, 5, 5)).hasMessageContaining("invalid segment");
    }
}
