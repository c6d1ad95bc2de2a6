package io.kdstream.trainer.state;

import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.source.Cursor;

import io.kdstream.avro.PartitionRange;
import io.kdstream.core.zoo.ModelZoo;
import io.kdstream.trainer.TrainerConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TrainingCoreTest {
    private static final int N = 8;

    private static TrainerConfig config(Map<String, Object> extra) {
        Map<String, Object> props = new HashMap<>();
        props.put(TrainerConfig.BATCH_SIZE_CONFIG, N);
        props.put(TrainerConfig.SHUFFLE_BUFFER_CONFIG, N);
        props.put(TrainerConfig.LEARNING_RATE_CONFIG, "0.01");
        props.putAll(extra);
        return new TrainerConfig(props);
    }

    private static Batch batch(long seed, boolean poison) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] inputs = new float[N * 784];
        int[] labels = new int[N];
        float[] logits = new float[N * 10];
        for (int i = 0; i < N; i++) {
            labels[i] = r.nextInt(10);
            for (int k = 0; k < 784; k++) {
                inputs[i * 784 + k] = (float) r.nextDouble();
            }
            logits[i * 10 + labels[i]] = 5f;
        }
        if (poison) {
            java.util.Arrays.fill(inputs, 3e38f);
        }
        return new Batch(0, N, inputs, labels, logits, null, new Cursor(0, 0, Map.of(0, 0L), 0, 0), Map.of(), null, 0, 0, null);
    }

    private static Map<String, float[]> params(TrainingCore core) {
        return core.snapshot(new HashMap<>());
    }

    @Test
    void shouldProduceBitIdenticalParametersForTheSameSeedAndBatches() {
        TrainerConfig cfg = config(Map.of());
        try (TrainingCore a = new TrainingCore(cfg, ModelZoo.studentMlp());
             TrainingCore b = new TrainingCore(cfg, ModelZoo.studentMlp())) {
            for (int s = 0; s < 3; s++) {
                assertThat(a.step(batch(s, false), s).applied()).isTrue();
                b.step(batch(s, false), s);
            }
            Map<String, float[]> pa = params(a);
            Map<String, float[]> pb = params(b);
            assertThat(pa.keySet()).isEqualTo(pb.keySet()).anyMatch(k -> k.startsWith("m:"));
            pa.forEach((k, v) -> assertThat(pb.get(k)).as(k).containsExactly(v));
        }
    }

    @Test
    void shouldComputeTheSameStepsWhateverTheGarbageCollectorDoes() throws Exception {
        // constant factors under gradient recording once lived in memory the collector could free before the backward
        // pass read it: with collections running all the time, the parameters differed from a quiet run's
        for (Map<String, Object> extra : List.<Map<String, Object>>of(
                Map.of(TrainerConfig.TEACHER_CONFIG, "stream"),
                Map.of(TrainerConfig.TEACHER_CONFIG, "stream", TrainerConfig.KD_LOSS_CONFIG, "dkd"),
                Map.of(TrainerConfig.TEACHER_CONFIG, "stream", TrainerConfig.KD_LOSS_CONFIG, "binary"),
                Map.of(TrainerConfig.TEACHER_CONFIG, "stream", TrainerConfig.CTKD_ENABLED_CONFIG, "true"))) {
            TrainerConfig cfg = config(extra);
            Map<String, float[]> quiet = trainSteps(cfg, 30, false);
            Map<String, float[]> collected = trainSteps(cfg, 30, true);
            quiet.forEach((k, v) -> assertThat(collected.get(k)).as(extra + " " + k).containsExactly(v));
        }
    }

    /** {@code steps} steps on fixed batches; with {@code collect}, a thread asks for a garbage collection every 2 ms. */
    private static Map<String, float[]> trainSteps(TrainerConfig cfg, int steps, boolean collect) throws InterruptedException {
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        Thread collector = new Thread(() -> {
            while (!done.get()) {
                System.gc();
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "gc-every-2ms");
        collector.setDaemon(true);
        if (collect) {
            collector.start();
        }
        try (TrainingCore core = new TrainingCore(cfg, ModelZoo.studentMlp())) {
            for (int s = 0; s < steps; s++) {
                core.step(batch(s, false), s);
            }
            return params(core);
        } finally {
            done.set(true);
            collector.join();
        }
    }

    @Test
    void shouldTrainOnSeveralThreadsAtOnceWithTheSameBitsAsOneAfterTheOther() throws Exception {
        TrainerConfig cfg = config(Map.of());
        int steps = 20;
        try (TrainingCore reference = new TrainingCore(cfg, ModelZoo.studentMlp());
             TrainingCore a = new TrainingCore(cfg, ModelZoo.studentMlp());
             TrainingCore b = new TrainingCore(cfg, ModelZoo.studentMlp())) {
            for (int s = 0; s < steps; s++) {
                reference.step(batch(s, false), s);
            }
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
            try {
                java.util.List<java.util.concurrent.Future<Boolean>> runs = new java.util.ArrayList<>();
                for (TrainingCore core : java.util.List.of(a, b)) {
                    runs.add(pool.submit(() -> {
                        boolean all = true;
                        for (int s = 0; s < steps; s++) {
                            all &= core.step(batch(s, false), s).applied();
                        }
                        return all;
                    }));
                }
                for (var run : runs) {
                    // DJL's engine throws "already collecting" when two threads record gradients at once
                    assertThat(run.get(2, java.util.concurrent.TimeUnit.MINUTES)).isTrue();
                }
            } finally {
                pool.shutdownNow();
            }
            Map<String, float[]> expected = params(reference);
            for (TrainingCore core : java.util.List.of(a, b)) {
                params(core).forEach((k, v) -> assertThat(v).as(k).containsExactly(expected.get(k)));
            }
        }
    }

    @Test
    void shouldContinueBitIdenticallyFromARestoredSnapshotIncludingOptimizerState() {
        TrainerConfig cfg = config(Map.of(TrainerConfig.OPTIMIZER_CONFIG, "adam"));
        try (TrainingCore uninterrupted = new TrainingCore(cfg, ModelZoo.studentTinyCnn());
             TrainingCore first = new TrainingCore(cfg, ModelZoo.studentTinyCnn());
             TrainingCore resumed = new TrainingCore(cfg, ModelZoo.studentTinyCnn())) {
            for (int s = 0; s < 4; s++) {
                uninterrupted.step(batch(s, false), s);
            }
            first.step(batch(0, false), 0);
            first.step(batch(1, false), 1);
            Map<String, long[]> shapes = new HashMap<>();
            Map<String, float[]> snap = first.snapshot(shapes);
            resumed.restore(snap, shapes, first.optimizerUpdates());
            resumed.step(batch(2, false), 2);
            resumed.step(batch(3, false), 3);

            Map<String, float[]> expected = params(uninterrupted);
            Map<String, float[]> actual = params(resumed);
            expected.forEach((k, v) -> assertThat(actual.get(k)).as(k).containsExactly(v));
        }
    }

    @Test
    void shouldKeepNoArraysAliveBetweenSteps() {
        TrainerConfig cfg = config(Map.of(TrainerConfig.CTKD_ENABLED_CONFIG, true));
        try (TrainingCore core = new TrainingCore(cfg, ModelZoo.studentMlp())) {
            core.step(batch(0, false), 0);
            int afterFirst = core.liveArrays();
            for (int s = 1; s < 25; s++) {
                core.step(batch(s, false), s);
            }
            core.evaluate(batch(99, false).inputs(), batch(99, false).labels(), 4);
            assertThat(core.liveArrays()).isEqualTo(afterFirst);
        }
    }

    @Test
    void shouldSkipANonFiniteStepWithoutTouchingParameters() {
        try (TrainingCore core = new TrainingCore(config(Map.of()), ModelZoo.studentMlp())) {
            Map<String, float[]> before = params(core);
            TrainingCore.StepOutcome o = core.step(batch(1, true), 0);
            assertThat(o.applied()).isFalse();
            assertThat(Double.isFinite(o.totalLoss())).isFalse();
            Map<String, float[]> after = params(core);
            before.forEach((k, v) -> assertThat(after.get(k)).as(k).containsExactly(v));
        }
    }

    @Test
    void shouldLowerTheDistillationLossOnARepeatedBatch() {
        try (TrainingCore core = new TrainingCore(config(Map.of(TrainerConfig.KD_ALPHA_CONFIG, "1.0")), ModelZoo.studentMlp())) {
            Batch b = batch(5, false);
            double first = core.step(b, 0).kdLoss();
            double last = first;
            for (int s = 1; s < 20; s++) {
                last = core.step(b, s).kdLoss();
            }
            assertThat(last).isLessThan(first * 0.5);
        }
    }

    @Test
    void shouldRoundTripACheckpointAndRejectACorruptedOne(@TempDir Path dir) throws Exception {
        Checkpoint c = new Checkpoint("run-1", "abc", 7, 56, 1, 6, 1234L, "", List.of(new PartitionRange("t", 0, 0L, 100L)),
                new Cursor(1, 2, Map.of(0, 40L), 0, 16), Map.of("param:w", new float[] {1.5f, Float.NaN, -0f}),
                Map.of("param:w", new long[] {3}));
        c.write(dir);
        Checkpoint read = Checkpoint.read(dir).orElseThrow();
        assertThat(read.cursor()).isEqualTo(c.cursor());
        assertThat(read.step()).isEqualTo(7);
        assertThat(read.ranges()).isEqualTo(c.ranges());
        assertThat(Float.floatToRawIntBits(read.arrays().get("param:w")[2])).isEqualTo(Float.floatToRawIntBits(-0f));

        byte[] bytes = Files.readAllBytes(dir.resolve(Checkpoint.FILE));
        bytes[20] ^= 1;
        Files.write(dir.resolve(Checkpoint.FILE), bytes);
        assertThatThrownBy(() -> Checkpoint.read(dir)).hasMessageContaining("Corrupted checkpoint").hasMessageContaining("sha256");
    }

    @Test
    void shouldTellAFiniteGradientFromANanOrInfiniteOne() {
        try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
            ai.djl.ndarray.NDArray fine = m.create(new float[] {1, -2, 3e30f});
            assertThat(TrainingCore.allFinite(List.of(fine, m.create(new float[] {0})))).isTrue();
            assertThat(TrainingCore.allFinite(List.of(fine, m.create(new float[] {1, Float.NaN})))).isFalse();
            assertThat(TrainingCore.allFinite(List.of(m.create(new float[] {Float.NEGATIVE_INFINITY}), fine))).isFalse();
            // a NaN anywhere in a larger array, before or after bigger values; magnitudes whose sum would overflow are
            // still finite; an empty array has nothing that is not
            float[] big = new float[4096];
            java.util.Arrays.fill(big, 0.5f);
            for (int at : new int[] {0, 1, 2047, 4095}) {
                float[] withNan = big.clone();
                withNan[at] = Float.NaN;
                withNan[(at + 7) % 4096] = 1e30f;
                assertThat(TrainingCore.allFinite(List.of(m.create(withNan, new ai.djl.ndarray.types.Shape(64, 64)))))
                        .as("NaN at " + at).isFalse();
            }
            assertThat(TrainingCore.allFinite(List.of(m.create(new float[] {3e38f, 3e38f, -3e38f})))).isTrue();
            assertThat(TrainingCore.allFinite(List.of(m.create(new float[0]), fine))).isTrue();
        }
    }

    @Test
    void shouldClearNanAndInfiniteGradientsToZero() {
        try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
            ai.djl.ndarray.NDArray g = m.create(new float[] {Float.NaN, Float.POSITIVE_INFINITY, -2f, Float.NEGATIVE_INFINITY});
            TrainingCore.clearGradients(List.of(g));
            assertThat(g.toFloatArray()).containsExactly(0f, 0f, 0f, 0f);
        }
    }

    @Test
    void shouldClipTheGlobalGradientNormAndLeaveSmallGradientsAlone() {
        try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
            ai.djl.ndarray.NDArray a = m.create(new float[] {3, 0});
            ai.djl.ndarray.NDArray b = m.create(new float[] {0, 4}); // global norm 5
            assertThat(TrainingCore.clipGlobalNorm(List.of(a, b), 10)).isEqualTo(5.0);
            assertThat(a.toFloatArray()).containsExactly(3f, 0f);
            assertThat(TrainingCore.clipGlobalNorm(List.of(a, b), 1)).isEqualTo(5.0);
            assertThat(a.toFloatArray()[0]).isCloseTo(0.6f, org.assertj.core.api.Assertions.within(1e-6f));
            assertThat(b.toFloatArray()[1]).isCloseTo(0.8f, org.assertj.core.api.Assertions.within(1e-6f));
            assertThat(TrainingCore.clipGlobalNorm(List.of(a, b), 1)).isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-6));
        }
    }

    @Test
    void shouldSplitDkdOnTheTeachersTopClassForAnUnlabelledExample() {
        float[] logits = {
            0, 3, 1, // labelled 0: keeps its label
            2, 1, 7, // unlabelled: the teacher's top class is 2
            4, 4, 1, // unlabelled tie: the lowest index wins
        };
        Batch b = new Batch(0, 3, new float[3], new int[] {0, -1, -1}, logits, null, new Cursor(0, 0, Map.of(0, 0L), 0, 0),
                Map.of(), null, 0, 0, null);

        assertThat(TrainingCore.targetsOrTeacherTop(b)).containsExactly(0, 2, 0);
        assertThat(b.labelled()).isEqualTo(1);
    }
}
