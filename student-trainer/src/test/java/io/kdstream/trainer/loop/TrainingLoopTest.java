package io.kdstream.trainer.loop;

import io.kdstream.core.KdException;
import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.source.BatchSource;
import io.kdstream.trainer.source.Cursor;
import io.kdstream.trainer.state.TrainingCore.StepOutcome;

import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The training loop and its hooks, driven by an in-memory batch source and a fake step (no broker, no engine). */
class TrainingLoopTest {

    /** Batches of {@code size} examples each, numbered by the cursor's skip field; a timeout before every third. */
    private static class ListSource implements BatchSource {
        private final Deque<Object> items = new ArrayDeque<>();
        private final Cursor end;
        boolean started;
        final List<Map<Integer, Long>> commits = new ArrayList<>();

        ListSource(int batches, int size) {
            for (int i = 0; i < batches; i++) {
                if (i % 3 == 2) {
                    items.add(TIMEOUT);
                }
                items.add(batch(i, size));
            }
            end = new Cursor(1, 0, Map.of(0, (long) batches * size), 0, 0);
        }

        static Batch batch(int index, int size) {
            Cursor after = new Cursor(0, 0, Map.of(0, (long) (index + 1) * size), 0, index + 1);
            return new Batch(0, size, new float[size], new int[size], null, null, after, Map.of(), null, 0, 5,
                    List.of(new Batch.Segment(0, (long) index * size, (long) (index + 1) * size)));
        }

        @Override
        public void start() {
            started = true;
        }

        @Override
        public Batch poll(long timeoutMs) {
            return items.isEmpty() ? null : (Batch) items.poll();
        }

        @Override
        public Cursor endCursor() {
            return end;
        }

        @Override
        public void requestCommit(Map<Integer, Long> positions) {
            commits.add(positions);
        }

        @Override
        public void close() {
        }
    }

    private static StepOutcome outcome(boolean applied) {
        return new StepOutcome(applied, 1, 0.5, 0, applied ? 1.5 : Double.NaN, 2, 0.9, 1e-3, 7, 3);
    }

    /** A step that fails at the given step indices (counted from 0, as the loop hands them). */
    private static TrainingLoop.Stepper failingAt(Set<Long> failing, List<Long> seen) {
        return (batch, index) -> {
            seen.add(index);
            return outcome(!failing.contains(index));
        };
    }

    private static TrainingLoop.Progress fresh() {
        return new TrainingLoop.Progress(0, 0, 0, Cursor.startOf(0, Map.of(0, 0L)));
    }

    @Test
    void shouldTrainEveryBatchInOrderAndEndWithTheSourcesEndCursor() throws Exception {
        ListSource source = new ListSource(7, 4);
        List<Long> seen = new ArrayList<>();
        TrainingLoop.Progress progress = fresh();
        TrainingLoop.End end = new TrainingLoop(source, failingAt(Set.of(), seen), 0, () -> false, List.of()).run(progress);
        assertThat(end).isEqualTo(TrainingLoop.End.EXHAUSTED);
        assertThat(source.started).isTrue();
        assertThat(seen).containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L);
        assertThat(progress.steps()).isEqualTo(7);
        assertThat(progress.samples()).isEqualTo(28);
        assertThat(progress.failedSteps()).isZero();
        assertThat(progress.cursor()).isEqualTo(source.endCursor());
        assertThat(progress.decodeNanos()).isEqualTo(35);
        assertThat(progress.forwardBackwardNanos()).isEqualTo(49);
        assertThat(progress.optimizerNanos()).isEqualTo(21);
        assertThat(progress.firstBatchNanos()).isNotNegative();
    }

    @Test
    void shouldCheckpointEveryIntervalStepsWithTheProgressAfterTheStep() throws Exception {
        ListSource source = new ListSource(10, 2);
        List<long[]> checkpoints = new ArrayList<>();
        TrainingLoop.Hook checkpoint = new CheckpointHook(3, p -> {
            checkpoints.add(new long[] {p.steps(), p.samples(), p.cursor().skip()});
            source.requestCommit(p.cursor().blockStart());
        });
        // a resumed run: counting continues from the checkpoint's step
        TrainingLoop.Progress progress = new TrainingLoop.Progress(2, 4, 0, Cursor.startOf(0, Map.of(0, 0L)));
        new TrainingLoop(source, failingAt(Set.of(), new ArrayList<>()), 0, () -> false, List.of(checkpoint)).run(progress);
        assertThat(checkpoints).extracting(c -> c[0]).containsExactly(3L, 6L, 9L, 12L);
        // step 3 is the first batch of this process (index 0): samples 4 + 2, cursor after batch 0
        assertThat(checkpoints.get(0)).containsExactly(3, 6, 1);
        assertThat(checkpoints.get(3)).containsExactly(12, 24, 10);
        assertThat(source.commits).containsExactly(Map.of(0, 2L), Map.of(0, 8L), Map.of(0, 14L), Map.of(0, 20L));
    }

    @Test
    void shouldEvaluateEveryIntervalStepsAndNeverWithIntervalZero() throws Exception {
        List<Long> evaluated = new ArrayList<>();
        new TrainingLoop(new ListSource(9, 1), failingAt(Set.of(), new ArrayList<>()), 0, () -> false,
                List.of(new EvaluationHook(4, evaluated::add))).run(fresh());
        assertThat(evaluated).containsExactly(4L, 8L);
        List<Long> never = new ArrayList<>();
        new TrainingLoop(new ListSource(9, 1), failingAt(Set.of(), new ArrayList<>()), 0, () -> false,
                List.of(new EvaluationHook(0, never::add))).run(fresh());
        assertThat(never).isEmpty();
    }

    @Test
    void shouldDeadLetterSkippedStepsAndStopOnceTheFailureBudgetIsSpent() {
        List<String> deadLetters = new ArrayList<>();
        List<Long> seen = new ArrayList<>();
        AtomicBoolean spentAction = new AtomicBoolean();
        List<Long> afterFailureHook = new ArrayList<>();
        // at most 2 failures in a window of 5 steps: steps 2 and 4 fail (skipped, counted), step 6 is the third
        FailureHook failures = new FailureHook("run-1", new FailureBudget(2, 5, "k"),
                (reason, batch, step) -> deadLetters.add(step + ": " + reason), () -> spentAction.set(true));
        TrainingLoop.Progress progress = fresh();
        TrainingLoop loop = new TrainingLoop(new ListSource(10, 3), failingAt(Set.of(1L, 3L, 5L), seen), 0, () -> false,
                List.of(failures, (p, b, o) -> afterFailureHook.add(p.steps())));
        assertThatThrownBy(() -> loop.run(progress)).isInstanceOf(KdException.class)
                .hasMessageContaining("3 failed steps within the last 5 steps").hasMessageContaining("step 6");
        assertThat(spentAction).isTrue();
        assertThat(deadLetters).hasSize(3);
        assertThat(deadLetters.get(0)).startsWith("2: non-finite loss at step 2 (total NaN").endsWith("batch of 3 skipped");
        assertThat(seen).containsExactly(0L, 1L, 2L, 3L, 4L, 5L);
        // a skipped step counts as a step but not its samples; the hooks after the failing one do not see step 6
        assertThat(progress.steps()).isEqualTo(6);
        assertThat(progress.failedSteps()).isEqualTo(3);
        assertThat(progress.samples()).isEqualTo(9);
        assertThat(afterFailureHook).containsExactly(1L, 2L, 3L, 4L, 5L);
    }

    @Test
    void shouldTolerateFailuresSpreadWiderThanTheWindow() throws Exception {
        List<String> deadLetters = new ArrayList<>();
        FailureHook failures = new FailureHook("run-1", new FailureBudget(1, 3, "k"),
                (reason, batch, step) -> deadLetters.add(reason), () -> {
                    throw new AssertionError("budget not spent");
                });
        TrainingLoop.Progress progress = fresh();
        new TrainingLoop(new ListSource(10, 1), failingAt(Set.of(0L, 3L, 6L, 9L), new ArrayList<>()), 0, () -> false,
                List.of(failures)).run(progress);
        assertThat(deadLetters).hasSize(4);
        assertThat(progress.failedSteps()).isEqualTo(4);
        assertThat(progress.samples()).isEqualTo(6);
    }

    @Test
    void shouldStopAtTheStepLimitCountedOverTheWholeRun() throws Exception {
        TrainingLoop.Progress progress = new TrainingLoop.Progress(5, 5, 0, Cursor.startOf(0, Map.of(0, 0L)));
        List<Long> seen = new ArrayList<>();
        TrainingLoop.End end = new TrainingLoop(new ListSource(10, 1), failingAt(Set.of(), seen), 8, () -> false, List.of())
                .run(progress);
        assertThat(end).isEqualTo(TrainingLoop.End.MAX_STEPS);
        assertThat(seen).containsExactly(5L, 6L, 7L);
        assertThat(progress.steps()).isEqualTo(8);
        assertThat(progress.cursor().skip()).isEqualTo(3);
    }

    @Test
    void shouldStopBeforeTheNextStepWhenAskedAndKeepTheCursorOfTheLastTrainedBatch() throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        TrainingLoop.Progress progress = fresh();
        TrainingLoop.End end = new TrainingLoop(new ListSource(10, 2), failingAt(Set.of(), new ArrayList<>()), 0, stop::get,
                List.of((p, b, o) -> stop.set(p.steps() == 4))).run(progress);
        assertThat(end).isEqualTo(TrainingLoop.End.STOPPED);
        assertThat(progress.steps()).isEqualTo(4);
        assertThat(progress.cursor().skip()).isEqualTo(4);
        assertThat(progress.cursor().blockStart()).isEqualTo(Map.of(0, 8L));
    }

    @Test
    void shouldRunTheHooksInOrderAfterEveryStep() throws Exception {
        List<String> calls = new ArrayList<>();
        new TrainingLoop(new ListSource(2, 1), failingAt(Set.of(), new ArrayList<>()), 0, () -> false,
                List.of((p, b, o) -> calls.add("metrics " + p.steps()), (p, b, o) -> calls.add("ledger " + p.steps()),
                        (p, b, o) -> calls.add("checkpoint " + p.steps()))).run(fresh());
        assertThat(calls).containsExactly("metrics 1", "ledger 1", "checkpoint 1", "metrics 2", "ledger 2", "checkpoint 2");
    }

    @Test
    void shouldAbortTheRoundAfterTheStepDuringWhichTheGroupBeganRebalancing() throws Exception {
        ListSource source = new ListSource(8, 2);
        AtomicBoolean rebalancing = new AtomicBoolean();
        List<Long> seen = new ArrayList<>();
        List<String> calls = new ArrayList<>();
        // the rebalance lands while step 3 trains: that step's record still goes out, then the round is aborted
        TrainingLoop.Stepper stepper = (batch, index) -> {
            seen.add(index);
            rebalancing.set(index == 2);
            return outcome(true);
        };
        TrainingLoop.Progress progress = fresh();
        TrainingLoop.End end = new TrainingLoop(source, stepper, 0, () -> false, List.of(
                (p, b, o) -> calls.add("record " + p.steps()),
                new GroupSyncHook(rebalancing::get),
                (p, b, o) -> calls.add("after sync " + p.steps()))).run(progress);
        assertThat(end).isEqualTo(TrainingLoop.End.ABORTED);
        assertThat(progress.abortReason()).isEqualTo(GroupSyncHook.REBALANCING);
        assertThat(seen).containsExactly(0L, 1L, 2L);
        assertThat(calls).containsExactly("record 1", "after sync 1", "record 2", "after sync 2", "record 3");
        // no batch is taken after the abort; the progress counts the aborted step (the member rolls the round back)
        assertThat(source.items).hasSize(6);
        assertThat(progress.steps()).isEqualTo(3);
        assertThat(progress.cursor().skip()).isEqualTo(3);
    }

    @Test
    void shouldAbortWithoutAStepWhenTheSourceAborts() throws Exception {
        BatchSource aborting = new ListSource(0, 1) {
            @Override
            public Batch poll(long timeoutMs) {
                throw new TrainingLoop.Abort("partitions revoked");
            }
        };
        TrainingLoop.Progress progress = fresh();
        List<Long> seen = new ArrayList<>();
        TrainingLoop.End end = new TrainingLoop(aborting, failingAt(Set.of(), seen), 0, () -> false,
                List.of(new GroupSyncHook(() -> true))).run(progress);
        assertThat(end).isEqualTo(TrainingLoop.End.ABORTED);
        assertThat(progress.abortReason()).isEqualTo("partitions revoked");
        assertThat(seen).isEmpty();
        assertThat(progress.steps()).isZero();
    }

    @Test
    void shouldRefuseIntervalsThatCannotBeMet() {
        assertThatThrownBy(() -> new CheckpointHook(0, p -> { })).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new EvaluationHook(-1, s -> { })).isInstanceOf(IllegalArgumentException.class);
    }
}
