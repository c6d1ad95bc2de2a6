package io.kdstream.teacher.serve;

import io.kdstream.avro.FailureKind;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class TeacherMetricsTest {

    @Test
    void shouldSumCommitsAndReportFillDeadLettersAndLatencyPercentiles() {
        TeacherMetrics m = new TeacherMetrics();
        long[] latencies = new long[100];
        for (int i = 0; i < 100; i++) {
            latencies[i] = (i + 1) * 1_000_000L;
        }
        m.recordCommit(100, 97, Map.of(FailureKind.SHAPE, 2, FailureKind.NON_FINITE, 1), new int[] {64, 36},
                new double[] {1.0, 0.5}, latencies);
        m.recordAbort();

        TeacherMetrics.Snapshot s = m.snapshot();

        assertThat(s.inputs()).isEqualTo(100);
        assertThat(s.outputs()).isEqualTo(97);
        assertThat(s.deadLetterTotal()).isEqualTo(3);
        assertThat(s.deadLetters()).containsEntry(FailureKind.SHAPE, 2L).containsEntry(FailureKind.SCHEMA, 0L);
        assertThat(s.batches()).isEqualTo(2);
        assertThat(s.meanFill()).isEqualTo(0.75);
        assertThat(s.commits()).isEqualTo(1);
        assertThat(s.aborts()).isEqualTo(1);
        assertThat(s.p50Ms()).isEqualTo(50.0);
        assertThat(s.p95Ms()).isEqualTo(95.0);
        assertThat(s.p99Ms()).isEqualTo(99.0);
        assertThat(s.logLine(null)).contains("inputs=100", "dlq=3", "batch_fill=0.75", "latency_p99_ms=99.0");
        assertThat(m.outputs()).isEqualTo(97);
        assertThat(m.deadLetters(FailureKind.SHAPE)).isEqualTo(2);
        assertThat(m.aborts()).isEqualTo(1);
    }

    @Test
    void shouldPassEachCommitsBatchFillsAndLatenciesToTheObservers() {
        TeacherMetrics m = new TeacherMetrics();
        java.util.List<double[]> fills = new java.util.ArrayList<>();
        java.util.List<long[]> latencies = new java.util.ArrayList<>();
        m.addObserver((f, l) -> {
            fills.add(f);
            latencies.add(l);
        });

        m.recordCommit(3, 3, Map.of(), new int[] {2, 1}, new double[] {1.0, 0.5}, new long[] {7, 8, 9});

        assertThat(fills).singleElement().satisfies(f -> assertThat(f).containsExactly(1.0, 0.5));
        assertThat(latencies).singleElement().satisfies(l -> assertThat(l).containsExactly(7, 8, 9));
    }

    @Test
    void shouldReportZerosBeforeAnyCommit() {
        TeacherMetrics.Snapshot s = new TeacherMetrics().snapshot();
        assertThat(s.inputs()).isZero();
        assertThat(s.meanFill()).isZero();
        assertThat(s.p50Ms()).isZero();
    }
}
