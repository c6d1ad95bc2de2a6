package io.kdstream.trainer.state;

import io.kdstream.trainer.loss.DistillationLoss;
import io.kdstream.trainer.loss.FeatureKd;
import io.kdstream.trainer.loss.KlDirection;
import io.kdstream.trainer.loss.Schedule;

/**
 * What the training step ({@link TrainingCore}) and the EMA teacher ({@link MeanTeacher}) read of a run's settings:
 * values only, parsed and validated at the edge (the trainer's configuration implements it), so the model state does
 * not depend on how a run is configured.
 */
public interface StepSettings {
    /** Seed of the initial weights, of dropout per step and of the augmentations. */
    long seed();

    /** {@code sgd} or {@code adam}. */
    String optimizer();

    double momentum();

    Schedule learningRate();

    Schedule temperature();

    /** Weight of the distillation terms against the task term. */
    Schedule alpha();

    KlDirection klDirection();

    /** The logit distillation term. */
    DistillationLoss distillationLoss();

    /** Whether the run distils a teacher's stream of logits. */
    boolean teacherStream();

    /** Whether the run keeps an EMA (mean) teacher. */
    boolean teacherEma();

    /** The teacher setting as a user wrote it ({@code key=value}), for errors. */
    String teacherSetting();

    /** Whether the temperature is learnt (CTKD), and its bounds, schedule and anchor. */
    boolean ctkdEnabled();

    double ctkdMin();

    double ctkdMax();

    double ctkdLambdaMax();

    long ctkdRampSteps();

    double ctkdAnchorWeight();

    /** Weight of the feature-distillation term; 0 disables it. */
    double featureWeight();

    FeatureKd.Distance featureDistance();

    boolean featureNormalize();

    /** Global gradient-norm clip; 0 disables it. */
    double gradClipNorm();

    /** The EMA teacher's decay and warm-up. */
    double emaDecay();

    boolean emaWarmup();

    /** The consistency term between student and EMA teacher: weight, ramp-up and temperature. */
    double consistencyWeight();

    long consistencyRampupSteps();

    double consistencyTemperature();

    /** The student's view augmentation: Gaussian noise and pixel shifts. */
    double augmentNoiseStd();

    int augmentShiftPixels();
}
