package io.kdstream.teacher.train;

import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.model.ModelStore;
import io.kdstream.core.model.SavedModel;
import io.kdstream.core.zoo.ModelZoo;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.TeacherLoader;
import io.kdstream.teacher.validate.TeacherValidator;
import io.kdstream.teacher.validate.ValidationResult;

import ai.djl.Device;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class TeacherTrainerTest {

    private static FashionMnist train;
    private static FashionMnist test;

    @TempDir
    Path tmp;

    @BeforeAll
    static void loadData() {
        train = FashionMnist.load(FashionMnist.DEFAULT_DIR, FashionMnist.Split.TRAIN);
        test = FashionMnist.load(FashionMnist.DEFAULT_DIR, FashionMnist.Split.TEST);
    }

    @Test
    void shouldComputeTheCrossEntropyOfDjlsLossWithoutItsTemporaryWeight() {
        try (ai.djl.ndarray.NDManager manager = ai.djl.ndarray.NDManager.newBaseManager()) {
            java.util.SplittableRandom r = new java.util.SplittableRandom(3);
            float[] z = new float[6 * 10];
            for (int i = 0; i < z.length; i++) {
                z[i] = (float) (r.nextDouble() * 8 - 4);
            }
            ai.djl.ndarray.NDArray logits = manager.create(z, new ai.djl.ndarray.types.Shape(6, 10));
            ai.djl.ndarray.NDArray labels = manager.create(new int[] {0, 3, 9, 3, 5, 1});
            float ours = TeacherTrainer.crossEntropy(logits, labels, 10).getFloat();
            float djl = ai.djl.training.loss.Loss.softmaxCrossEntropyLoss()
                    .evaluate(new ai.djl.ndarray.NDList(labels), new ai.djl.ndarray.NDList(logits)).getFloat();
            assertThat(ours).isCloseTo(djl, org.assertj.core.data.Offset.offset(1e-6f));
        }
    }

    @Test
    void shouldLowerTheLossAndBeatChanceOnASmallSubsetAndRecordItInTheMetadata() {
        List<Double> batchLosses = new ArrayList<>();
        List<Long> progress = new ArrayList<>();
        TeacherTrainer trainer = TeacherTrainer.builder()
                .setTrainData(train).setTestData(test)
                .optEpochs(1).optLimit(2_000).optTestLimit(1_000).optBatchSize(50).optSeed(7)
                .optListener(new TrainingListener() {
                    @Override
                    public void onBatch(int epoch, int epochs, long done, long total, double meanLoss) {
                        progress.add(done);
                        batchLosses.add(meanLoss);
                    }
                })
                .build();

        try (TrainingResult result = trainer.train()) {
            // running mean after the first batch vs after all 40: it falls as the model learns
            assertThat(batchLosses).hasSize(40);
            assertThat(batchLosses.get(batchLosses.size() - 1)).isLessThan(batchLosses.get(0) * 0.8);
            assertThat(progress.get(progress.size() - 1)).isEqualTo(2_000);
            assertThat(result.epochs()).hasSize(1);
            assertThat(result.testAccuracy()).isGreaterThan(0.5);
            assertThat(result.metadata().architecture()).isEqualTo(ModelZoo.FMNIST_CNN_TEACHER);
            assertThat(result.metadata().testAccuracy()).contains(result.testAccuracy());
            assertThat(result.metadata().training()).hasValueSatisfying(t -> {
                assertThat(t.dataset()).isEqualTo("fashion-mnist/train[0:2000]");
                assertThat(t.seed()).isEqualTo(7);
                assertThat(t.epochs()).isEqualTo(1);
            });
        }
    }

    @Test
    void shouldGiveBitIdenticalParametersForTheSameSeed() {
        String first = trainAndSave(11, "a").metadata().parametersSha256();
        String second = trainAndSave(11, "b").metadata().parametersSha256();
        String other = trainAndSave(12, "c").metadata().parametersSha256();
        assertThat(second).isEqualTo(first);
        assertThat(other).isNotEqualTo(first);
    }

    @Test
    void shouldReloadASavedTeacherThatScoresAsItDidInTraining() {
        SavedModel saved;
        double trainedAccuracy;
        try (TrainingResult result = TeacherTrainer.builder().setTrainData(train).setTestData(test)
                .optEpochs(1).optLimit(1_000).optTestLimit(1_000).optBatchSize(50).build().train()) {
            trainedAccuracy = result.testAccuracy();
            saved = ModelStore.saveTo(tmp.resolve("teacher"), result.block(), result.metadata());
        }
        try (Teacher teacher = TeacherLoader.load(saved.dir(), Device.cpu())) {
            ValidationResult v = TeacherValidator.validate(teacher, test, 0.0, 1_000);
            assertThat(v.examples()).isEqualTo(1_000);
            assertThat(v.accuracy()).isEqualTo(trainedAccuracy);
            assertThat(teacher.info().sha256()).isEqualTo(saved.metadata().parametersSha256());
            assertThat(teacher.metadata().features()).isEqualTo(ModelZoo.teacherCnn().features());
        }
    }

    @Test
    void shouldWarmUpLinearlyFromATenthThenDecayByCosineToOnePercent() {
        ai.djl.training.tracker.Tracker rate = TeacherTrainer.learningRateTracker(1e-3f, 100, 10, true);
        org.assertj.core.data.Offset<Float> tiny = org.assertj.core.data.Offset.offset(1e-7f);
        assertThat(rate.getNewValue(0)).isCloseTo(1e-4f, tiny);
        assertThat(rate.getNewValue(5)).isCloseTo(5.5e-4f, tiny);
        assertThat(rate.getNewValue(10)).isCloseTo(1e-3f, tiny);
        // halfway through the 90 decay updates the cosine is at the mean of the peak and the floor
        assertThat(rate.getNewValue(55)).isCloseTo((1e-3f + 1e-5f) / 2, tiny);
        assertThat(rate.getNewValue(100)).isCloseTo(1e-5f, tiny);
        for (int u = 11; u <= 100; u++) {
            assertThat(rate.getNewValue(u)).isLessThan(rate.getNewValue(u - 1));
        }
    }

    @Test
    void shouldCapTheWarmUpAtAFifthOfTheRunAndKeepAFixedRateWithoutDecay() {
        ai.djl.training.tracker.Tracker capped = TeacherTrainer.learningRateTracker(1e-3f, 40, 40, true);
        assertThat(capped.getNewValue(8)).isEqualTo(1e-3f);
        assertThat(capped.getNewValue(7)).isLessThan(1e-3f);
        ai.djl.training.tracker.Tracker fixed = TeacherTrainer.learningRateTracker(1e-3f, 40, 4, false);
        assertThat(fixed.getNewValue(0)).isEqualTo(1e-3f);
        assertThat(fixed.getNewValue(39)).isEqualTo(1e-3f);
    }

    @Test
    void shouldEvaluateOnHeldOutTrainingImagesAndRecordNoTestAccuracyInValidationMode() {
        List<Long> progress = new ArrayList<>();
        try (TrainingResult result = TeacherTrainer.builder().setTrainData(train).setTestData(test)
                .optArchitecture(ModelZoo.studentTinyCnn()).optValidation(200)
                .optEpochs(1).optLimit(300).optBatchSize(50).optSeed(5)
                .optListener(new TrainingListener() {
                    @Override
                    public void onBatch(int epoch, int epochs, long done, long total, double meanLoss) {
                        progress.add(total);
                    }
                })
                .build().train()) {
            assertThat(progress).containsOnly(300L);
            // 200 held-out images: the accuracy is a whole number of them
            double held = result.testAccuracy() * 200;
            assertThat(held).isCloseTo(Math.rint(held), org.assertj.core.data.Offset.offset(1e-9));
            assertThat(result.metadata().testAccuracy()).isEmpty();
            assertThat(result.metadata().training()).hasValueSatisfying(t ->
                    assertThat(t.dataset()).isEqualTo("fashion-mnist/train[0:300]"));
        }
    }

    @Test
    void shouldRefuseToHoldOutTheWholeTrainingSplit() {
        TeacherTrainer trainer = TeacherTrainer.builder().setTrainData(train).setTestData(test)
                .optValidation(train.size()).build();
        assertThat(org.assertj.core.api.Assertions.catchThrowable(trainer::train))
                .isInstanceOf(io.kdstream.core.KdException.class).hasMessageContaining("validation");
    }

    private SavedModel trainAndSave(long seed, String dir) {
        try (TrainingResult result = TeacherTrainer.builder().setTrainData(train).setTestData(test)
                .optArchitecture(ModelZoo.studentTinyCnn())
                // the augmented recipe: its shifts, flips, weight decay and warm-up must repeat bit for bit too
                .optAugmentation(new Augmentation(2, true)).optWeightDecay(0.05f).optWarmUpEpochs(1)
                .optEpochs(1).optLimit(300).optTestLimit(100).optBatchSize(50).optSeed(seed).build().train()) {
            return ModelStore.saveTo(tmp.resolve(dir), result.block(), result.metadata());
        }
    }
}
