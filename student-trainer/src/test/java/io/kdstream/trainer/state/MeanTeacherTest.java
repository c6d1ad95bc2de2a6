package io.kdstream.trainer.state;

import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.source.Cursor;
import io.kdstream.trainer.source.InputRecordDecoder;

import io.kdstream.core.zoo.ModelZoo;
import io.kdstream.trainer.TrainerConfig;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class MeanTeacherTest {
    private static final int N = 8;

    private static TrainerConfig config(Map<String, Object> extra) {
        Map<String, Object> props = new HashMap<>();
        props.put(TrainerConfig.TEACHER_CONFIG, "ema");
        props.put(TrainerConfig.BATCH_SIZE_CONFIG, N);
        props.put(TrainerConfig.SHUFFLE_BUFFER_CONFIG, N);
        props.put(TrainerConfig.LEARNING_RATE_CONFIG, "0.01");
        props.putAll(extra);
        return new TrainerConfig(props);
    }

    /** A batch whose even examples are labelled and odd ones unlabelled. */
    private static Batch batch(long seed) {
        return batch(seed, false);
    }

    /** As above; with {@code teacherLogits} also stream-teacher logits favouring a fixed class per example. */
    private static Batch batch(long seed, boolean teacherLogits) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] inputs = new float[N * 784];
        int[] labels = new int[N];
        for (int i = 0; i < N; i++) {
            labels[i] = i % 2 == 0 ? r.nextInt(10) : InputRecordDecoder.UNLABELLED;
            for (int k = 0; k < 784; k++) {
                inputs[i * 784 + k] = (float) r.nextDouble();
            }
        }
        float[] logits = null;
        if (teacherLogits) {
            logits = new float[N * 10];
            for (int i = 0; i < N; i++) {
                logits[i * 10 + i % 10] = 5f;
            }
        }
        return new Batch(0, N, inputs, labels, logits, null, new Cursor(0, 0, Map.of(0, 0L), 0, 0), Map.of(), null, 0, 0, null);
    }

    private static Map<String, float[]> only(Map<String, float[]> all, String prefix) {
        Map<String, float[]> out = new HashMap<>();
        all.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                out.put(k.substring(prefix.length()), v);
            }
        });
        return out;
    }

    @Test
    void shouldWarmTheDecayUpFromZeroToTheConfiguredValue() {
        assertThat(MeanTeacher.decayAt(0.99, true, 0)).isZero();
        assertThat(MeanTeacher.decayAt(0.99, true, 1)).isEqualTo(0.5);
        assertThat(MeanTeacher.decayAt(0.99, true, 9)).isCloseTo(0.9, within(1e-12));
        assertThat(MeanTeacher.decayAt(0.99, true, 99)).isCloseTo(0.99, within(1e-12));
        assertThat(MeanTeacher.decayAt(0.99, true, 10_000)).isEqualTo(0.99);
        assertThat(MeanTeacher.decayAt(0.99, false, 0)).isEqualTo(0.99);
    }

    @Test
    void shouldStartAsACopyOfTheStudentAndKeepItsArraysOutOfTheTrainables() {
        try (TrainingCore core = new TrainingCore(config(Map.of()), ModelZoo.studentMlp());
             TrainingCore plain = new TrainingCore(config(Map.of(TrainerConfig.TEACHER_CONFIG, "none")), ModelZoo.studentMlp())) {
            Map<String, float[]> all = core.snapshot(new HashMap<>());
            Map<String, float[]> student = only(all, "param:");
            Map<String, float[]> ema = only(all, MeanTeacher.PREFIX);
            assertThat(ema.keySet()).isEqualTo(student.keySet());
            student.forEach((k, v) -> assertThat(ema.get(k)).as(k).containsExactly(v));
            // the student's trainable (and group-averaged) arrays are those of a run without the EMA teacher
            assertThat(only(all, "param:").keySet()).isEqualTo(only(plain.snapshot(new HashMap<>()), "param:").keySet());
            assertThat(all.keySet()).noneMatch(k -> k.startsWith("m:" + MeanTeacher.PREFIX));
        }
    }

    @Test
    void shouldMoveTheTeacherByTheEmaOfTheStudentAfterEveryStep() {
        double tau = 0.9;
        TrainerConfig cfg = config(Map.of(TrainerConfig.EMA_DECAY_CONFIG, tau, TrainerConfig.EMA_WARMUP_CONFIG, false));
        try (TrainingCore core = new TrainingCore(cfg, ModelZoo.studentMlp())) {
            for (int s = 0; s < 3; s++) {
                Map<String, float[]> before = core.snapshot(new HashMap<>());
                TrainingCore.StepOutcome o = core.step(batch(s), s);
                assertThat(o.applied()).isTrue();
                Map<String, float[]> after = core.snapshot(new HashMap<>());
                Map<String, float[]> emaBefore = only(before, MeanTeacher.PREFIX);
                Map<String, float[]> emaAfter = only(after, MeanTeacher.PREFIX);
                Map<String, float[]> student = only(after, "param:");
                String first = student.keySet().iterator().next();
                assertThat(only(before, "param:").get(first)).isNotEqualTo(student.get(first));
                for (Map.Entry<String, float[]> e : emaAfter.entrySet()) {
                    float[] old = emaBefore.get(e.getKey());
                    float[] cur = student.get(e.getKey());
                    for (int i = 0; i < old.length; i += 97) {
                        double expected = tau * old[i] + (1 - tau) * cur[i];
                        assertThat((double) e.getValue()[i]).as(e.getKey() + "[" + i + "]").isCloseTo(expected, within(1e-6));
                    }
                }
            }
        }
    }

    @Test
    void shouldReportTheConsistencyTermAsKdLossWeightedByAlpha() {
        TrainerConfig cfg = config(Map.of(TrainerConfig.CONSISTENCY_WEIGHT_CONFIG, 0.4, TrainerConfig.CONSISTENCY_RAMPUP_CONFIG, 10L));
        try (TrainingCore core = new TrainingCore(cfg, ModelZoo.studentMlp())) {
            core.step(batch(0), 0);
            TrainingCore.StepOutcome o = core.step(batch(1), 1);
            double w = 0.4 * Math.exp(-5 * 0.9 * 0.9);
            assertThat(o.alpha()).isCloseTo(w, within(1e-12));
            assertThat(o.kdLoss()).isPositive();
            assertThat(o.totalLoss()).isCloseTo((1 - w) * o.taskLoss() + w * o.kdLoss(), within(1e-4));
        }
    }

    @Test
    void shouldContinueBitIdenticallyFromARestoredSnapshotIncludingTheEmaTeacher() {
        TrainerConfig cfg = config(Map.of());
        try (TrainingCore uninterrupted = new TrainingCore(cfg, ModelZoo.studentTinyCnn());
             TrainingCore first = new TrainingCore(cfg, ModelZoo.studentTinyCnn());
             TrainingCore resumed = new TrainingCore(cfg, ModelZoo.studentTinyCnn())) {
            for (int s = 0; s < 4; s++) {
                uninterrupted.step(batch(s), s);
            }
            first.step(batch(0), 0);
            first.step(batch(1), 1);
            Map<String, long[]> shapes = new HashMap<>();
            Map<String, float[]> saved = first.snapshot(shapes);
            resumed.restore(saved, shapes, first.optimizerUpdates());
            resumed.step(batch(2), 2);
            resumed.step(batch(3), 3);
            Map<String, float[]> a = uninterrupted.snapshot(new HashMap<>());
            Map<String, float[]> b = resumed.snapshot(new HashMap<>());
            assertThat(b.keySet()).isEqualTo(a.keySet()).anyMatch(k -> k.startsWith(MeanTeacher.PREFIX));
            a.forEach((k, v) -> assertThat(b.get(k)).as(k).containsExactly(v));
        }
    }

    @Test
    void shouldEvaluateTheEmaTeacherAgainstLabelsAndTheStudent() {
        try (TrainingCore core = new TrainingCore(config(Map.of()), ModelZoo.studentMlp())) {
            Batch b = batch(5);
            // before any step the teacher is the student: full agreement, and for every labelling the teacher's
            // accuracy is the student's, computed independently; over the ten one-class labellings they add up to 1
            // (each input is predicted as exactly one class), so the accuracy compares each prediction with its label
            double sum = 0;
            for (int c = 0; c < 10; c++) {
                int[] labels = new int[N];
                java.util.Arrays.fill(labels, c);
                double[] r = core.evaluateEma(b.inputs(), labels, 3);
                assertThat(r[1]).isEqualTo(1.0);
                assertThat(r[0]).as("class " + c).isEqualTo(core.evaluate(b.inputs(), labels, 3)[0]);
                sum += r[0];
            }
            assertThat(sum).isCloseTo(1.0, within(1e-9));
        }
    }

    /** Each input's top-1 class under {@code core}'s student, found with one-input, one-label evaluations only. */
    private static int[] predictions(TrainingCore core, float[] inputs, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            float[] one = java.util.Arrays.copyOfRange(inputs, i * 784, (i + 1) * 784);
            out[i] = -1;
            for (int c = 0; c < 10; c++) {
                if (core.evaluate(one, new int[] {c}, 1)[0] == 1.0) {
                    assertThat(out[i]).as("input " + i + " predicted as one class").isEqualTo(-1);
                    out[i] = c;
                }
            }
            assertThat(out[i]).as("input " + i + " predicted").isNotNegative();
        }
        return out;
    }

    @Test
    void shouldEvaluateTheEmaWeightsOnceTheyDifferFromTheStudents() {
        // after training, the EMA teacher lags the student; evaluateEma must run the EMA weights: its accuracy and its
        // agreement with the student equal those of the EMA weights loaded into a plain student, computed independently.
        // With decay 0.99 and no warm-up, 20 steps leave the teacher at least 0.99^20 = 82% its initial weights, while
        // the student has fit the batches it was trained on; on those 64 inputs the two agreed on none (measured): the
        // check needs only one disagreement, so an evaluation of the student's weights cannot pass for the teacher's
        TrainerConfig cfg = config(Map.of(TrainerConfig.EMA_DECAY_CONFIG, 0.99, TrainerConfig.EMA_WARMUP_CONFIG, false,
                TrainerConfig.LEARNING_RATE_CONFIG, "0.05"));
        TrainerConfig plainCfg = config(Map.of(TrainerConfig.TEACHER_CONFIG, "none"));
        try (TrainingCore core = new TrainingCore(cfg, ModelZoo.studentMlp());
             TrainingCore emaCopy = new TrainingCore(plainCfg, ModelZoo.studentMlp());
             TrainingCore studentCopy = new TrainingCore(plainCfg, ModelZoo.studentMlp())) {
            for (int s = 0; s < 20; s++) {
                assertThat(core.step(batch(s), s).applied()).isTrue();
            }
            Map<String, float[]> all = core.snapshot(new HashMap<>());
            Map<String, float[]> ema = new HashMap<>();
            Map<String, float[]> student = new HashMap<>();
            only(all, MeanTeacher.PREFIX).forEach((k, v) -> ema.put("param:" + k, v));
            only(all, "param:").forEach((k, v) -> student.put("param:" + k, v));
            emaCopy.loadParameters(ema);
            studentCopy.loadParameters(student);
            int n = 64;
            float[] inputs = new float[n * 784];
            for (int b = 0; b < n / N; b++) {
                System.arraycopy(batch(b).inputs(), 0, inputs, b * N * 784, N * 784); // inputs the student was trained on
            }
            int[] byEma = predictions(emaCopy, inputs, n);
            int[] byStudent = predictions(studentCopy, inputs, n);
            int agree = 0;
            for (int i = 0; i < n; i++) {
                agree += byEma[i] == byStudent[i] ? 1 : 0;
            }
            // the precondition that makes the check discriminate
            System.out.printf("EMA vs student top-1 agreement on %d inputs: %d%n", n, agree);
            assertThat(agree).as("inputs where the EMA teacher and the student agree").isLessThan(n);
            double[] onOwn = core.evaluateEma(inputs, byEma, 16);
            assertThat(onOwn[0]).as("EMA accuracy on the EMA weights' own predictions").isEqualTo(1.0);
            assertThat(onOwn[1]).as("agreement with the student").isEqualTo(agree / (double) n);
            double[] onStudents = core.evaluateEma(inputs, byStudent, 16);
            assertThat(onStudents[0]).as("EMA accuracy on the student's predictions").isEqualTo(agree / (double) n);
            // and the student's own evaluation is still the student's
            assertThat(core.evaluate(inputs, byStudent, 16)[0]).isEqualTo(1.0);
        }
    }

    @Test
    void shouldAddTheWeightedConsistencyTermToTheStreamKdMixWithBothTeachers() {
        // unperturbed views and no warm-up: at step 0 the teacher is the student (zero consistency, zero gradient up to
        // rounding), so both runs take the same first step; at step 1 the lagging teacher adds a positive consistency term
        TrainerConfig cfg = config(Map.of(TrainerConfig.TEACHER_CONFIG, "stream+ema", TrainerConfig.CONSISTENCY_WEIGHT_CONFIG, 0.3,
                TrainerConfig.AUGMENT_NOISE_STD_CONFIG, 0.0, TrainerConfig.EMA_WARMUP_CONFIG, false,
                TrainerConfig.KD_ALPHA_CONFIG, "0.7"));
        try (TrainingCore both = new TrainingCore(cfg, ModelZoo.studentMlp());
             TrainingCore streamOnly = new TrainingCore(config(Map.of(TrainerConfig.TEACHER_CONFIG, "stream",
                     TrainerConfig.KD_ALPHA_CONFIG, "0.7")), ModelZoo.studentMlp())) {
            TrainingCore.StepOutcome first = both.step(batch(0, true), 0);
            assertThat(first.kdLoss()).isCloseTo(streamOnly.step(batch(0, true), 0).kdLoss(), within(1e-5));
            TrainingCore.StepOutcome o = both.step(batch(1, true), 1);
            TrainingCore.StepOutcome s = streamOnly.step(batch(1, true), 1);
            assertThat(o.taskLoss()).isCloseTo(s.taskLoss(), within(1e-5));
            // alpha stays the stream KD weight; kdLoss is KD plus the (unweighted) consistency term
            assertThat(o.alpha()).isEqualTo(0.7);
            assertThat(o.kdLoss()).isGreaterThan(s.kdLoss());
            double consistency = o.kdLoss() - s.kdLoss();
            assertThat(consistency).isGreaterThan(1e-4);
            assertThat(o.totalLoss()).isCloseTo(0.3 * o.taskLoss() + 0.7 * s.kdLoss() + 0.3 * consistency, within(1e-4));
        }
    }

    @Test
    void shouldKeepTheLiveArrayCountFlatAcrossEmaStepsAndEvaluations() {
        try (TrainingCore core = new TrainingCore(config(Map.of(TrainerConfig.AUGMENT_SHIFT_CONFIG, 2)), ModelZoo.studentMlp())) {
            core.step(batch(0), 0);
            int afterFirst = core.liveArrays();
            for (int s = 1; s < 25; s++) {
                core.step(batch(s), s);
            }
            core.evaluate(batch(99).inputs(), new int[N], 3);
            core.evaluateEma(batch(99).inputs(), new int[N], 3);
            assertThat(core.liveArrays()).isEqualTo(afterFirst);
        }
    }
}
