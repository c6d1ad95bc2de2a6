package io.kdstream.ops.demo;

import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.model.SavedModel;
import io.kdstream.core.zoo.ModelZoo;
import io.kdstream.teacher.train.Augmentation;
import io.kdstream.teacher.train.TeacherTrainer;
import io.kdstream.teacher.train.TrainingResult;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Phase 4: reuses a teacher from the model store that was trained the way the plan asks (or, for a smaller plan, the
 * way the full plan asks: a better teacher will do), else trains one and saves it there for the next run.
 */
final class TeacherPhase {

    /**
     * @param model  the teacher, as stored
     * @param cached whether it came from the store instead of being trained now
     */
    record Output(SavedModel model, boolean cached) {
    }

    private final DemoContext ctx;
    private final IngestPhase.Output data;

    TeacherPhase(DemoContext ctx, IngestPhase.Output data) {
        this.ctx = ctx;
        this.data = data;
    }

    /** The cached teacher to reuse, if the store has one. */
    Optional<SavedModel> findCached() {
        return new TeacherCache(ctx.settings().store()).find(acceptable(ctx.settings().plan(), data.train().size()));
    }

    /** The trainings a cached teacher may have had, preferred first. */
    static List<ModelMetadata.TrainingInfo> acceptable(DemoPlan plan, int trainSplitSize) {
        List<ModelMetadata.TrainingInfo> acceptable = new ArrayList<>();
        acceptable.add(TeacherCache.expectedTraining(plan, trainSplitSize));
        if (!"full".equals(plan.name())) {
            acceptable.add(TeacherCache.expectedTraining(DemoPlan.full(), trainSplitSize)); // a better teacher will do
        }
        return acceptable;
    }

    /** The line that starts the phase. */
    String announce(Optional<SavedModel> cached) {
        DemoPlan plan = ctx.settings().plan();
        return cached.map(c -> "reusing the cached teacher " + c.dir())
                .orElseGet(() -> "training the teacher (" + ModelZoo.FMNIST_CNN_TEACHER + ", " + plan.teacherEpochs()
                        + " epoch(s) on " + plan.teacherTrainImages() + " images; cached in " + ctx.settings().store().root()
                        + " for the next run)");
    }

    /** The cached teacher, or a new one trained and saved. */
    Output run(Optional<SavedModel> cached) {
        return cached.map(c -> new Output(c, true)).orElseGet(() -> new Output(train(), false));
    }

    /** The line that ends the phase. */
    static String summary(Output teacher) {
        SavedModel model = teacher.model();
        if (teacher.cached()) {
            return "trained earlier, " + model.metadata().training().map(t -> t.epochs() + " epoch(s) on " + t.dataset())
                    .orElse("") + ", sha256 " + DemoRunner.shortSha(model.metadata().parametersSha256());
        }
        return String.format(Locale.ROOT, "test accuracy %s, saved to %s",
                DemoRunner.percent(model.metadata().testAccuracy().orElse(null)), model.dir());
    }

    private SavedModel train() {
        DemoPlan plan = ctx.settings().plan();
        FashionMnist train = data.train();
        FashionMnist test = data.test();
        TeacherTrainer trainer = TeacherTrainer.builder()
                .setTrainData(train).setTestData(test)
                .optEpochs(plan.teacherEpochs()).optSeed(plan.seed())
                .optBatchSize(DemoPlan.TEACHER_BATCH_SIZE).optLearningRate(DemoPlan.TEACHER_LEARNING_RATE)
                // the demo's short teacher runs (1-3 epochs) keep the plain recipe: Adam, cosine decay without warm-up, no
                // augmentation, which is also what the teachers cached by TeacherCache were trained with
                .optAugmentation(Augmentation.NONE).optWeightDecay(0).optWarmUpEpochs(0)
                .optLimit(plan.teacherTrainImages() < train.size() ? plan.teacherTrainImages() : 0)
                .optTestLimit(plan.teacherTestImages() < test.size() ? plan.teacherTestImages() : 0)
                .optListener(new TeacherProgress(ctx))
                .build();
        try (TrainingResult result = trainer.train()) {
            return ctx.settings().store().save(result.block(), result.metadata(), true);
        }
    }
}
