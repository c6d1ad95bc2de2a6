package io.kdstream.trainer.student;

import io.kdstream.trainer.StudentArchitectures;
import io.kdstream.trainer.TrainerConfig;
import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.source.Cursor;
import io.kdstream.trainer.state.TrainingCore;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Counts the training steps of the 28x28 TorchScript fixture whose gradient came out non-finite (and were skipped),
 * over fresh students of 20 steps each, for the figures in docs/byo.md. Opt-in (a measurement, about 15 s):
 * {@code ./mvnw -o -B test -pl student-trainer -am -Dtest=TorchScriptGradientSoakTest
 * -Dsurefire.failIfNoSpecifiedTests=false -Dkd.test.argLine="-Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1
 * -Dai.djl.pytorch.num_interop_threads=1 -Xss2m -Dkdstream.soak=true"}.
 */
@EnabledIfSystemProperty(named = "kdstream.soak", matches = "true")
class TorchScriptGradientSoakTest {
    private static final int STUDENTS = 30;
    private static final int STEPS = 20;

    @Test
    void countNonFiniteGradientSteps() {
        for (int batchSize : new int[] {32, 8}) {
            Map<String, Object> p = new HashMap<>();
            p.put(TrainerConfig.BATCH_SIZE_CONFIG, batchSize);
            p.put(TrainerConfig.SHUFFLE_BUFFER_CONFIG, batchSize);
            p.put(TrainerConfig.LEARNING_RATE_CONFIG, "0.01");
            p.put(TrainerConfig.STUDENT_MODEL_CONFIG, TorchScriptStudentTest.fixture("tiny_student_28.pt").toString());
            TrainerConfig cfg = new TrainerConfig(p);
            int skipped = 0;
            for (int student = 0; student < STUDENTS; student++) {
                try (TrainingCore core = new TrainingCore(cfg, StudentArchitectures.resolve(cfg, TorchScriptStudentTest::noStream))) {
                    for (int s = 0; s < STEPS; s++) {
                        skipped += core.step(batch(s, batchSize), s).applied() ? 0 : 1;
                    }
                }
            }
            System.out.printf("batch %d: %d of %d steps skipped for a non-finite gradient%n", batchSize, skipped,
                    STUDENTS * STEPS);
        }
    }

    private static Batch batch(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] inputs = new float[n * 784];
        int[] labels = new int[n];
        float[] logits = new float[n * 10];
        for (int i = 0; i < n; i++) {
            labels[i] = r.nextInt(10);
            for (int k = 0; k < 784; k++) {
                inputs[i * 784 + k] = (float) r.nextDouble();
            }
            for (int c = 0; c < 10; c++) {
                logits[i * 10 + c] = (float) r.nextGaussian();
            }
        }
        return new Batch(0, n, inputs, labels, logits, null, new Cursor(0, 0, Map.of(0, 0L), 0, 0), Map.of(), null, 0, 0, null);
    }
}
