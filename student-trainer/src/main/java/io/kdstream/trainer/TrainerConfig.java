package io.kdstream.trainer;

import io.kdstream.core.config.KdConfig;
import io.kdstream.core.KdException;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.zoo.ArchitectureSpec;
import io.kdstream.core.zoo.ModelZoo;
import io.kdstream.trainer.state.StepSettings;
import io.kdstream.trainer.loss.DecoupledKd;
import io.kdstream.trainer.loss.DistillationLoss;
import io.kdstream.trainer.loss.DistillationLosses;
import io.kdstream.trainer.loss.FeatureKd;
import io.kdstream.trainer.loss.HintonKd;
import io.kdstream.trainer.loss.KlDirection;
import io.kdstream.trainer.loss.Schedule;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.ValidString;
import org.apache.kafka.common.config.ConfigException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** Configuration of the student trainer: the shared keys of {@link KdConfig} plus {@code trainer.*} and {@code kd.*}. */
public final class TrainerConfig extends KdConfig implements StepSettings {

    public static final String STUDENT_CONFIG = "trainer.student";
    private static final String STUDENT_DOC = "Student: a zoo name (fmnist-mlp-student, fmnist-tinycnn-student: 1x28x28 "
            + "inputs, 10 classes) or a spec built for the stream's input shape and class count: 'mlp:H1,H2,...' (dense "
            + "hidden layers) or 'cnn:C1,C2,...[:denseU]' (conv3x3+ReLU+maxpool2 blocks of Ci channels, then an optional "
            + "dense layer of U units). See docs/byo.md.";
    public static final String INPUT_SHAPE_CONFIG = "trainer.input.shape";
    private static final String INPUT_SHAPE_DOC = "Per-example input shape of a spec student, e.g. 3,32,32 (empty: taken "
            + "from the first decodable record of the topic). A zoo student has a fixed shape; set, this must equal it.";
    public static final String NUM_CLASSES_CONFIG = "trainer.num.classes";
    private static final String NUM_CLASSES_DOC = "Class count of a spec student (0: the length of the teacher logits of "
            + "the first decodable record; runs reading InputRecords (trainer.teacher=ema) must set it). A zoo student has "
            + "a fixed count; set, this must equal it.";
    public static final String STUDENT_MODEL_CONFIG = "trainer.student.model";
    private static final String STUDENT_MODEL_DOC = "A TorchScript file (.pt) to train as the student instead of "
            + "trainer.student (which must then be left at its default). The module takes [N, inputShape...] float32 and "
            + "returns the logits, or a tuple (logits, feature...); its input shape, class count and features come from "
            + "the .json file of the same name next to it. The trained student is also written as TorchScript: "
            + "student.pt with student.json in the model directory, and in torchscript/ of the checkpoint directory at "
            + "every checkpoint. Empty: trainer.student. See docs/byo.md.";
    public static final String TEACHER_CONFIG = "trainer.teacher";
    private static final String TEACHER_DOC = "'stream': distil from the teacher outputs on the topic; 'none': train on the "
            + "labels of the same records alone (the baseline); 'ema': mean teacher, an exponential moving average of the "
            + "student, with no teacher-service (reads InputRecords from the inputs topic); 'stream+ema': both teachers, "
            + "reading the teacher outputs.";
    public static final String EPOCHS_CONFIG = "trainer.epochs";
    private static final String EPOCHS_DOC = "Passes over the offset range snapshotted at the start of the run.";
    public static final String SEED_CONFIG = "trainer.seed";
    private static final String SEED_DOC = "Seed of parameter initialisation and shuffling. With the same offsets, seed and "
            + "config a CPU run is bit-for-bit reproducible.";
    public static final String GROUP_CONFIG = "trainer.group";
    private static final String GROUP_DOC = "Consumer group id; offsets are committed there after each checkpoint for "
            + "monitoring (the checkpoint, not the group, is the source of truth).";
    public static final String CHECKPOINT_DIR_CONFIG = "trainer.checkpoint.dir";
    private static final String CHECKPOINT_DIR_DOC = "Directory of the run: checkpoint, final model and manifest. A run "
            + "started on a directory holding a checkpoint resumes it.";
    public static final String CHECKPOINT_INTERVAL_CONFIG = "trainer.checkpoint.interval.steps";
    private static final String CHECKPOINT_INTERVAL_DOC = "Steps between checkpoints (one is also written at the end and on "
            + "an orderly stop).";
    public static final String BATCH_SIZE_CONFIG = "trainer.batch.size";
    private static final String BATCH_SIZE_DOC = "Examples per step.";
    public static final String SHUFFLE_BUFFER_CONFIG = "trainer.shuffle.buffer";
    private static final String SHUFFLE_BUFFER_DOC = "Examples per shuffle block: consecutive blocks of the stream are "
            + "permuted with a generator seeded by (seed, epoch, block). Must be a multiple of trainer.batch.size.";
    public static final String PREFETCH_CONFIG = "trainer.prefetch.batches";
    private static final String PREFETCH_DOC = "Decoded batches queued ahead of the training step.";
    public static final String OPTIMIZER_CONFIG = "trainer.optimizer";
    private static final String OPTIMIZER_DOC = "'adam' or 'sgd' (with momentum).";
    public static final String LEARNING_RATE_CONFIG = "trainer.learning.rate";
    private static final String LEARNING_RATE_DOC = "Learning-rate schedule: constant:V, linear:FROM:TO:STEPS, "
            + "rising:TO:STEPS or step:V0,V1@S1,... (a plain number is a constant).";
    public static final String MOMENTUM_CONFIG = "trainer.momentum";
    private static final String MOMENTUM_DOC = "Momentum of SGD; beta1 of Adam.";
    public static final String MAX_STEPS_CONFIG = "trainer.max.steps";
    private static final String MAX_STEPS_DOC = "Stop after this many steps (0: when the range is exhausted).";
    public static final String RUN_ID_CONFIG = "trainer.run.id";
    private static final String RUN_ID_DOC = "Run id; empty: a new random id (a resumed run keeps its checkpoint's id).";
    public static final String TRAINER_ID_CONFIG = "trainer.id";
    private static final String TRAINER_ID_DOC = "Name of this trainer instance in metrics and monitors; kdstream train "
            + "uses the host name (a container's or pod's) when it is not set.";
    public static final String EVAL_INTERVAL_CONFIG = "trainer.eval.interval.steps";
    private static final String EVAL_INTERVAL_DOC = "Steps between evaluations on the held-out set (0: only at the end).";
    public static final String EVAL_DIR_CONFIG = "trainer.eval.dir";
    private static final String EVAL_DIR_DOC = "Directory of the Fashion-MNIST IDX files whose test split is the held-out set.";
    public static final String EVAL_MAX_SAMPLES_CONFIG = "trainer.eval.max.samples";
    private static final String EVAL_MAX_SAMPLES_DOC = "Held-out examples evaluated (the first N of the Fashion-MNIST split, "
            + "or of trainer.eval.topic; 0 disables evaluation).";
    public static final String EVAL_SPLIT_CONFIG = "trainer.eval.split";
    private static final String EVAL_SPLIT_DOC = "Held-out set the student is scored on: 'test' (the Fashion-MNIST test "
            + "split) or 'validation' (the last trainer.eval.validation.images images of the training split, for tuning: "
            + "train on a stream without them, e.g. 'kdstream ingest fashion-mnist --split train --limit 55000', and keep "
            + "the test split for the final figures).";
    public static final String EVAL_TOPIC_CONFIG = "trainer.eval.topic";
    private static final String EVAL_TOPIC_DOC = "Topic of labelled InputRecords to score the student on instead of the "
            + "Fashion-MNIST files (empty: Fashion-MNIST, trainer.eval.dir and trainer.eval.split). Read once with "
            + "read_committed up to its end offsets at the first evaluation and held in memory: the first "
            + "trainer.eval.max.samples usable records, partition by partition; unlabelled and wrong-shape records are "
            + "skipped and counted.";
    public static final String EVAL_VALIDATION_IMAGES_CONFIG = "trainer.eval.validation.images";
    private static final String EVAL_VALIDATION_IMAGES_DOC = "Size of the validation split carved from the end of the "
            + "training images (trainer.eval.split=validation).";
    public static final String FAILURES_MAX_CONFIG = "trainer.failures.max.per.window";
    private static final String FAILURES_MAX_DOC = "Most failed steps (non-finite loss or gradient) tolerated within one window; one more "
            + "stops training with an error.";
    public static final String FAILURES_WINDOW_CONFIG = "trainer.failures.window.steps";
    private static final String FAILURES_WINDOW_DOC = "Length in steps of the failure window.";

    public static final String FOLLOW_CONFIG = "trainer.follow";
    private static final String FOLLOW_DOC = "Online run: follow the topic from its beginning (or the checkpoint) and keep training "
            + "on new teacher outputs until stopped. Batches are cut in arrival order and each step's offset segments are "
            + "kept in a ledger (ledger.tsv in the run directory) that replay follows. Needs trainer.epochs=1.";
    public static final String FOLLOW_MAX_WAIT_CONFIG = "trainer.follow.max.wait.ms";
    private static final String FOLLOW_MAX_WAIT_DOC = "Online runs: how long a partly filled batch waits for more records "
            + "before it is trained as it is.";

    public static final String EMA_DECAY_CONFIG = "trainer.ema.decay";
    private static final String EMA_DECAY_DOC = "Decay τ of the EMA teacher: after every applied step θ_ema ← τ·θ_ema + "
            + "(1 − τ)·θ_student (trainer.teacher=ema or stream+ema).";
    public static final String EMA_WARMUP_CONFIG = "trainer.ema.warmup";
    private static final String EMA_WARMUP_DOC = "Warm the EMA up: the update at step s (from 0) uses min(τ, 1 − 1/(s + 1)), "
            + "so early teachers follow the student closely instead of its random initialisation.";
    public static final String CONSISTENCY_WEIGHT_CONFIG = "trainer.consistency.weight";
    private static final String CONSISTENCY_WEIGHT_DOC = "Weight w of the consistency term (student against the EMA "
            + "teacher on another augmented view). With trainer.teacher=ema the loss is (1 − w)·task + w·consistency and w "
            + "is reported as alpha; with stream+ema the term w·consistency is added to the KD mix.";
    public static final String CONSISTENCY_RAMPUP_CONFIG = "trainer.consistency.rampup.steps";
    private static final String CONSISTENCY_RAMPUP_DOC = "Steps over which w rises from 0 along exp(−5(1 − s/N)²) (0: "
            + "full weight from the first step).";
    public static final String CONSISTENCY_TEMPERATURE_CONFIG = "trainer.consistency.temperature";
    private static final String CONSISTENCY_TEMPERATURE_DOC = "Softmax temperature T of the consistency term "
            + "T²·KL(p_ema ‖ p_student).";
    public static final String AUGMENT_NOISE_STD_CONFIG = "trainer.augment.noise.std";
    private static final String AUGMENT_NOISE_STD_DOC = "Standard deviation of the Gaussian pixel noise of each view (EMA "
            + "teacher runs only; seeded by trainer.seed, the step and the view).";
    public static final String AUGMENT_SHIFT_CONFIG = "trainer.augment.shift.pixels";
    private static final String AUGMENT_SHIFT_DOC = "Largest random translation of each view, in pixels, with zero fill "
            + "(EMA teacher runs only). Off by default: in the measured Fashion-MNIST runs shifts of 2 pixels cost the MLP "
            + "student several points (docs/trainer.md).";
    public static final String LABEL_FRACTION_CONFIG = "trainer.label.fraction";
    private static final String LABEL_FRACTION_DOC = "Fraction of records whose label is used; the others train as unlabelled "
            + "(the distillation terms alone), like records that arrive without a label. Whether a record keeps its "
            + "label is a fixed function of its id and trainer.seed, so replays and resumed runs choose the same records. "
            + "Any teacher mode; a labels-only run (trainer.teacher=none) passes over unlabelled records and counts them.";
    public static final String GROUP_TRAINING_CONFIG = "trainer.group.training";
    private static final String GROUP_TRAINING_DOC = "Group training: trainers started with the same trainer.group split the "
            + "partitions of the topic (consumer-group assignment, sorted round-robin), train locally and every "
            + "trainer.group.sync.interval.steps steps replace their weights with the sample-weighted average exchanged "
            + "through the model-sync topic; several epochs pass over the snapshotted range as a group. Needs trainer.follow=false, kd.feature.weight=0, trainer.teacher=stream or none and "
            + "trainer.max.steps=0.";
    public static final String GROUP_SYNC_INTERVAL_CONFIG = "trainer.group.sync.interval.steps";
    private static final String GROUP_SYNC_INTERVAL_DOC = "Group training: local steps of each member between two averaging "
            + "rounds (K).";
    public static final String GROUP_SYNC_TIMEOUT_CONFIG = "trainer.group.sync.timeout.ms";
    private static final String GROUP_SYNC_TIMEOUT_DOC = "Group training: how long a member waits for the contributions of the "
            + "other members of its generation; past it the member forces a rebalance and the group resumes from its last "
            + "completed round. Keep it above the time the slowest member needs for its local steps.";
    public static final String GROUP_MIN_MEMBERS_CONFIG = "trainer.group.min.members";
    private static final String GROUP_MIN_MEMBERS_DOC = "Group training: members the group needs before it starts training "
            + "(a smaller first generation waits for more to join); once the group has made progress it goes on with fewer.";
    public static final String GROUP_SYNC_CHUNK_BYTES_CONFIG = "trainer.group.sync.chunk.bytes";
    private static final String GROUP_SYNC_CHUNK_BYTES_DOC = "Group training: largest parameter chunk of one model-sync record; "
            + "keep it well under the broker's message.max.bytes.";

    public static final String KD_TEMPERATURE_CONFIG = "kd.temperature";
    private static final String KD_TEMPERATURE_DOC = "Softmax temperature T of the KD term (scaled by T²), as a schedule "
            + "(a plain number is a constant). With CTKD it is the anchor and initial value.";
    public static final String KD_ALPHA_CONFIG = "kd.alpha";
    private static final String KD_ALPHA_DOC = "Weight α of the KD term (the task term has 1 − α), as a schedule.";
    public static final String KD_LOSS_CONFIG = "kd.loss";
    private static final String KD_LOSS_DOC = "Logit distillation term: " + String.join(", ", DistillationLosses.kinds()
            .stream().map(k -> "'" + k.name() + "' (" + k.description() + ")").toList()) + ".";
    public static final String KD_DIRECTION_CONFIG = "kd.kl.direction";
    private static final String KD_DIRECTION_DOC = "'forward' KL(teacher ‖ student) or 'reverse' KL(student ‖ teacher) "
            + "(hinton and lskd).";
    /** Owned by {@link DecoupledKd}; kept here for callers that name it through the trainer's configuration. */
    public static final String DKD_ALPHA_CONFIG = DecoupledKd.ALPHA_CONFIG;
    /** Owned by {@link DecoupledKd}. */
    public static final String DKD_BETA_CONFIG = DecoupledKd.BETA_CONFIG;
    public static final String CTKD_ENABLED_CONFIG = "kd.ctkd.enabled";
    private static final String CTKD_ENABLED_DOC = "Learn the temperature adversarially (CTKD) through a gradient-reversal "
            + "layer (hinton and lskd).";
    public static final String CTKD_LAMBDA_MAX_CONFIG = "kd.ctkd.lambda.max";
    private static final String CTKD_LAMBDA_MAX_DOC = "Final strength λ of the gradient reversal (half-cosine ramp from 0).";
    public static final String CTKD_RAMP_CONFIG = "kd.ctkd.lambda.ramp.steps";
    private static final String CTKD_RAMP_DOC = "Steps of the λ ramp.";
    public static final String CTKD_MIN_CONFIG = "kd.ctkd.min";
    private static final String CTKD_MIN_DOC = "Lower clamp of the learnt temperature.";
    public static final String CTKD_MAX_CONFIG = "kd.ctkd.max";
    private static final String CTKD_MAX_DOC = "Upper clamp of the learnt temperature.";
    public static final String CTKD_ANCHOR_WEIGHT_CONFIG = "kd.ctkd.anchor.weight";
    private static final String CTKD_ANCHOR_WEIGHT_DOC = "Weight of (T − anchor)², the anchor being kd.temperature at step 0; "
            + "0 lets the temperature run to its clamp.";
    public static final String FEATURE_WEIGHT_CONFIG = "kd.feature.weight";
    private static final String FEATURE_WEIGHT_DOC = "Weight of the feature-distillation term (0 disables it). Student and "
            + "teacher maps are paired by the stride in the record metadata.";
    public static final String FEATURE_DISTANCE_CONFIG = "kd.feature.distance";
    private static final String FEATURE_DISTANCE_DOC = "'mse' or 'cosine'.";
    public static final String FEATURE_NORMALIZE_CONFIG = "kd.feature.normalize";
    private static final String FEATURE_NORMALIZE_DOC = "L2-normalise both maps along the channel axis before the distance.";

    public static final String GRAD_CLIP_CONFIG = "trainer.grad.clip.norm";
    private static final String GRAD_CLIP_DOC = "Clip the global L2 norm of the gradient (all trainable arrays together, "
            + "adapters and learnable temperature included) to this value before the optimizer step; 0 disables clipping. "
            + "A guard against exploding gradients (docs/trainer.md, acceptance runs).";

    /** Keys that name where and as whom a run executes, not what it computes: left out of the training hash. */
    private static final Set<String> NON_TRAINING_KEYS = Set.of(CHECKPOINT_DIR_CONFIG, CHECKPOINT_INTERVAL_CONFIG,
            RUN_ID_CONFIG, TRAINER_ID_CONFIG, GROUP_CONFIG, EVAL_INTERVAL_CONFIG, EVAL_DIR_CONFIG, EVAL_MAX_SAMPLES_CONFIG,
            EVAL_SPLIT_CONFIG, EVAL_VALIDATION_IMAGES_CONFIG, EVAL_TOPIC_CONFIG,
            PREFETCH_CONFIG, FAILURES_MAX_CONFIG, FAILURES_WINDOW_CONFIG,
            // group runs keep no local checkpoint; leaving their keys out keeps the hash of existing checkpoints
            GROUP_TRAINING_CONFIG, GROUP_SYNC_INTERVAL_CONFIG, GROUP_SYNC_TIMEOUT_CONFIG, GROUP_SYNC_CHUNK_BYTES_CONFIG,
            GROUP_MIN_MEMBERS_CONFIG);

    /**
     * The training keys of the first checkpoint format: always part of the training hash. Every key defined later (the
     * EMA teacher's, gradient clipping, spec-student shapes, a TorchScript student, and any key a new distillation term
     * brings) is left out of the hash while it holds its default, so a checkpoint written before the key existed still
     * resumes. This list records history: never add to it.
     */
    private static final Set<String> FIRST_FORMAT_KEYS = Set.of("kd.alpha", "kd.ctkd.anchor.weight", "kd.ctkd.enabled",
            "kd.ctkd.lambda.max", "kd.ctkd.lambda.ramp.steps", "kd.ctkd.max", "kd.ctkd.min", "kd.dkd.alpha", "kd.dkd.beta",
            "kd.feature.distance", "kd.feature.normalize", "kd.feature.weight", "kd.kl.direction", "kd.loss",
            "kd.temperature", "trainer.batch.size", "trainer.epochs", "trainer.follow", "trainer.follow.max.wait.ms",
            "trainer.learning.rate", "trainer.max.steps", "trainer.momentum", "trainer.optimizer", "trainer.seed",
            "trainer.shuffle.buffer", "trainer.student", "trainer.teacher");

    /** Keys that apply to the EMA teacher only (the label fraction applies to every run that reads labels). */
    private static final Set<String> EMA_KEYS = Set.of(EMA_DECAY_CONFIG, EMA_WARMUP_CONFIG, CONSISTENCY_WEIGHT_CONFIG,
            CONSISTENCY_RAMPUP_CONFIG, CONSISTENCY_TEMPERATURE_CONFIG, AUGMENT_NOISE_STD_CONFIG, AUGMENT_SHIFT_CONFIG,
            LABEL_FRACTION_CONFIG);

    private static final ConfigDef CONFIG = withDistillationKeys(baseConfigDef()
            .define(STUDENT_CONFIG, Type.STRING, ModelZoo.FMNIST_MLP_STUDENT, studentValidator(), Importance.HIGH, STUDENT_DOC)
            .define(STUDENT_MODEL_CONFIG, Type.STRING, "", Importance.HIGH, STUDENT_MODEL_DOC)
            .define(INPUT_SHAPE_CONFIG, Type.LIST, "", shapeValidator(), Importance.MEDIUM, INPUT_SHAPE_DOC)
            .define(NUM_CLASSES_CONFIG, Type.INT, 0, Range.between(0, 1 << 20), Importance.MEDIUM, NUM_CLASSES_DOC)
            .define(TEACHER_CONFIG, Type.STRING, "stream", ValidString.in("stream", "none", "ema", "stream+ema"), Importance.HIGH,
                    TEACHER_DOC)
            .define(EPOCHS_CONFIG, Type.INT, 1, Range.between(1, 10_000), Importance.HIGH, EPOCHS_DOC)
            .define(SEED_CONFIG, Type.LONG, 42L, Importance.HIGH, SEED_DOC)
            .define(GROUP_CONFIG, Type.STRING, "kd-trainer", new ConfigDef.NonEmptyString(), Importance.MEDIUM, GROUP_DOC)
            .define(CHECKPOINT_DIR_CONFIG, Type.STRING, "kdstream-run", new ConfigDef.NonEmptyString(), Importance.HIGH, CHECKPOINT_DIR_DOC)
            .define(CHECKPOINT_INTERVAL_CONFIG, Type.INT, 100, Range.atLeast(1), Importance.MEDIUM, CHECKPOINT_INTERVAL_DOC)
            .define(BATCH_SIZE_CONFIG, Type.INT, 64, Range.between(1, 65_536), Importance.HIGH, BATCH_SIZE_DOC)
            .define(SHUFFLE_BUFFER_CONFIG, Type.INT, 1024, Range.between(1, 1 << 20), Importance.MEDIUM, SHUFFLE_BUFFER_DOC)
            .define(PREFETCH_CONFIG, Type.INT, 8, Range.between(1, 1024), Importance.LOW, PREFETCH_DOC)
            .define(OPTIMIZER_CONFIG, Type.STRING, "adam", ValidString.in("adam", "sgd"), Importance.MEDIUM, OPTIMIZER_DOC)
            .define(LEARNING_RATE_CONFIG, Type.STRING, "constant:0.001", scheduleValidator(), Importance.HIGH, LEARNING_RATE_DOC)
            .define(MOMENTUM_CONFIG, Type.DOUBLE, 0.9, Range.between(0.0, 0.999999), Importance.LOW, MOMENTUM_DOC)
            .define(MAX_STEPS_CONFIG, Type.LONG, 0L, Range.atLeast(0), Importance.LOW, MAX_STEPS_DOC)
            .define(RUN_ID_CONFIG, Type.STRING, "", Importance.LOW, RUN_ID_DOC)
            .define(TRAINER_ID_CONFIG, Type.STRING, "trainer-0", new ConfigDef.NonEmptyString(), Importance.LOW, TRAINER_ID_DOC)
            .define(EVAL_INTERVAL_CONFIG, Type.INT, 0, Range.atLeast(0), Importance.MEDIUM, EVAL_INTERVAL_DOC)
            .define(EVAL_DIR_CONFIG, Type.STRING, FashionMnist.DEFAULT_DIR.toString(), Importance.LOW, EVAL_DIR_DOC)
            .define(EVAL_MAX_SAMPLES_CONFIG, Type.INT, 10_000, Range.atLeast(0), Importance.LOW, EVAL_MAX_SAMPLES_DOC)
            .define(EVAL_SPLIT_CONFIG, Type.STRING, "test", ValidString.in("test", "validation"), Importance.LOW, EVAL_SPLIT_DOC)
            .define(EVAL_TOPIC_CONFIG, Type.STRING, "", Importance.MEDIUM, EVAL_TOPIC_DOC)
            .define(EVAL_VALIDATION_IMAGES_CONFIG, Type.INT, 5_000, Range.between(1, 59_999), Importance.LOW,
                    EVAL_VALIDATION_IMAGES_DOC)
            .define(FAILURES_MAX_CONFIG, Type.INT, 10, Range.atLeast(0), Importance.MEDIUM, FAILURES_MAX_DOC)
            .define(FAILURES_WINDOW_CONFIG, Type.INT, 100, Range.atLeast(1), Importance.MEDIUM, FAILURES_WINDOW_DOC)
            .define(FOLLOW_CONFIG, Type.BOOLEAN, false, Importance.MEDIUM, FOLLOW_DOC)
            .define(FOLLOW_MAX_WAIT_CONFIG, Type.LONG, 1000L, Range.atLeast(1), Importance.LOW, FOLLOW_MAX_WAIT_DOC)
            .define(EMA_DECAY_CONFIG, Type.DOUBLE, 0.99, Range.between(0.0, 0.999999), Importance.MEDIUM, EMA_DECAY_DOC)
            .define(EMA_WARMUP_CONFIG, Type.BOOLEAN, true, Importance.LOW, EMA_WARMUP_DOC)
            .define(CONSISTENCY_WEIGHT_CONFIG, Type.DOUBLE, 0.5, Range.between(0.0, 1.0), Importance.MEDIUM, CONSISTENCY_WEIGHT_DOC)
            .define(CONSISTENCY_RAMPUP_CONFIG, Type.LONG, 0L, Range.atLeast(0), Importance.LOW, CONSISTENCY_RAMPUP_DOC)
            .define(CONSISTENCY_TEMPERATURE_CONFIG, Type.DOUBLE, 1.0, Range.between(0.1, 100.0), Importance.LOW,
                    CONSISTENCY_TEMPERATURE_DOC)
            .define(AUGMENT_NOISE_STD_CONFIG, Type.DOUBLE, 0.1, Range.between(0.0, 10.0), Importance.LOW, AUGMENT_NOISE_STD_DOC)
            .define(AUGMENT_SHIFT_CONFIG, Type.INT, 0, Range.between(0, 8), Importance.LOW, AUGMENT_SHIFT_DOC)
            .define(GRAD_CLIP_CONFIG, Type.DOUBLE, 0.0, Range.atLeast(0.0), Importance.MEDIUM, GRAD_CLIP_DOC)
            .define(LABEL_FRACTION_CONFIG, Type.DOUBLE, 1.0, Range.between(0.0, 1.0), Importance.MEDIUM, LABEL_FRACTION_DOC)
            .define(GROUP_TRAINING_CONFIG, Type.BOOLEAN, false, Importance.MEDIUM, GROUP_TRAINING_DOC)
            .define(GROUP_SYNC_INTERVAL_CONFIG, Type.INT, 20, Range.atLeast(1), Importance.MEDIUM, GROUP_SYNC_INTERVAL_DOC)
            .define(GROUP_SYNC_TIMEOUT_CONFIG, Type.LONG, 60_000L, Range.atLeast(100), Importance.MEDIUM, GROUP_SYNC_TIMEOUT_DOC)
            .define(GROUP_MIN_MEMBERS_CONFIG, Type.INT, 1, Range.atLeast(1), Importance.LOW, GROUP_MIN_MEMBERS_DOC)
            .define(GROUP_SYNC_CHUNK_BYTES_CONFIG, Type.INT, 256 * 1024, Range.between(1024, 16 << 20), Importance.LOW,
                    GROUP_SYNC_CHUNK_BYTES_DOC)
            // T 2 and α 0.9: the best of T ∈ {2, 4} × α ∈ {0.5, 0.9} on the validation split at 5% labels, the stream
            // these defaults are for (docs/trainer.md, "Recipe sweep"); with every label present α 0.5 did better
            .define(KD_TEMPERATURE_CONFIG, Type.STRING, "2", scheduleValidator(), Importance.HIGH, KD_TEMPERATURE_DOC)
            .define(KD_ALPHA_CONFIG, Type.STRING, "0.9", scheduleValidator(), Importance.HIGH, KD_ALPHA_DOC)
            .define(KD_LOSS_CONFIG, Type.STRING, HintonKd.KIND.name(), ValidString.in(DistillationLosses.names().toArray(String[]::new)),
                    Importance.HIGH, KD_LOSS_DOC)
            .define(KD_DIRECTION_CONFIG, Type.STRING, "forward", ValidString.in("forward", "reverse"), Importance.MEDIUM, KD_DIRECTION_DOC)
            .define(CTKD_ENABLED_CONFIG, Type.BOOLEAN, false, Importance.MEDIUM, CTKD_ENABLED_DOC)
            .define(CTKD_LAMBDA_MAX_CONFIG, Type.DOUBLE, 1.0, Range.atLeast(0.0), Importance.LOW, CTKD_LAMBDA_MAX_DOC)
            .define(CTKD_RAMP_CONFIG, Type.LONG, 1000L, Range.atLeast(1), Importance.LOW, CTKD_RAMP_DOC)
            .define(CTKD_MIN_CONFIG, Type.DOUBLE, 1.0, Range.atLeast(0.01), Importance.LOW, CTKD_MIN_DOC)
            .define(CTKD_MAX_CONFIG, Type.DOUBLE, 10.0, Range.atLeast(0.01), Importance.LOW, CTKD_MAX_DOC)
            .define(CTKD_ANCHOR_WEIGHT_CONFIG, Type.DOUBLE, 0.01, Range.atLeast(0.0), Importance.LOW, CTKD_ANCHOR_WEIGHT_DOC)
            .define(FEATURE_WEIGHT_CONFIG, Type.DOUBLE, 0.0, Range.atLeast(0.0), Importance.MEDIUM, FEATURE_WEIGHT_DOC)
            .define(FEATURE_DISTANCE_CONFIG, Type.STRING, "mse", ValidString.in("mse", "cosine"), Importance.LOW, FEATURE_DISTANCE_DOC)
            .define(FEATURE_NORMALIZE_CONFIG, Type.BOOLEAN, true, Importance.LOW, FEATURE_NORMALIZE_DOC));

    /** Defines the keys each registered distillation term owns ({@link DistillationLosses}). */
    private static ConfigDef withDistillationKeys(ConfigDef def) {
        for (DistillationLoss.Key key : DistillationLosses.keys()) {
            def.define(key.name(), Type.DOUBLE, key.defaultValue(), Range.atLeast(key.min()), Importance.LOW, key.doc());
        }
        return def;
    }

    public TrainerConfig(Map<?, ?> props) {
        super(CONFIG, props);
        validateCrossFields();
    }

    /** The definition, e.g. for generating the configuration reference. */
    public static ConfigDef configDef() {
        return new ConfigDef(CONFIG);
    }

    private void validateCrossFields() {
        // the default is tolerated: a manifest, and so a replay, records every key with its value
        if (studentModel().isPresent() && !isDefault(STUDENT_CONFIG)) {
            throw new ConfigException(STUDENT_MODEL_CONFIG + "=" + getString(STUDENT_MODEL_CONFIG) + " trains a TorchScript "
                    + "student, so " + STUDENT_CONFIG + " (" + student() + ") must be left at its default");
        }
        if (shuffleBuffer() % batchSize() != 0) {
            throw new ConfigException(SHUFFLE_BUFFER_CONFIG + " (" + shuffleBuffer() + ") must be a multiple of "
                    + BATCH_SIZE_CONFIG + " (" + batchSize() + ")");
        }
        if (follow() && epochs() != 1) {
            throw new ConfigException(FOLLOW_CONFIG + "=true trains on each record once as it arrives, so "
                    + EPOCHS_CONFIG + " must be 1 (got " + epochs() + ")");
        }
        validateGroupTraining();
        if (!teacherStream() && (ctkdEnabled() || featureWeight() > 0)) {
            throw new ConfigException(TEACHER_CONFIG + "=" + getString(TEACHER_CONFIG) + " has no stream teacher, so "
                    + CTKD_ENABLED_CONFIG + " and "
                    + FEATURE_WEIGHT_CONFIG + " must stay off (got " + ctkdEnabled() + ", " + featureWeight() + ")");
        }
        validateEma();
        validateCtkd();
    }

    /** Cross-field rules of group training. */
    private void validateGroupTraining() {
        if (!groupTraining()) {
            return;
        }
        if (follow()) {
            throw new ConfigException(GROUP_TRAINING_CONFIG + "=true and " + FOLLOW_CONFIG + "=true cannot be combined: "
                    + "a group trains a bounded range");
        }
        if (featureWeight() > 0) {
            throw new ConfigException(GROUP_TRAINING_CONFIG + "=true does not support feature distillation: "
                    + FEATURE_WEIGHT_CONFIG + " must be 0 (got " + featureWeight() + ")");
        }
        if (maxSteps() > 0) {
            throw new ConfigException(GROUP_TRAINING_CONFIG + "=true ends when the range is exhausted, so "
                    + MAX_STEPS_CONFIG + " must be 0 (got " + maxSteps() + ")");
        }
        if (teacherEma()) {
            throw new ConfigException(GROUP_TRAINING_CONFIG + "=true does not support an EMA teacher (the EMA copy "
                    + "would not be averaged with the student): " + TEACHER_CONFIG + " must be stream or none (got "
                    + getString(TEACHER_CONFIG) + ")");
        }
    }

    /** Cross-field rules of CTKD (a learnable temperature). */
    private void validateCtkd() {
        if (ctkdEnabled() && !DistillationLosses.kind(kdLoss()).learnableTemperature()) {
            throw new ConfigException(CTKD_ENABLED_CONFIG + " needs " + KD_LOSS_CONFIG + "=" + String.join(" or ",
                    DistillationLosses.kinds().stream().filter(DistillationLoss.Kind::learnableTemperature)
                            .map(DistillationLoss.Kind::name).toList()) + ", got " + kdLoss());
        }
        if (ctkdEnabled()) {
            double anchor = temperature().valueAt(0);
            if (!(ctkdMin() <= anchor && anchor <= ctkdMax())) {
                throw new ConfigException(KD_TEMPERATURE_CONFIG + " at step 0 (" + anchor + ") must lie within ["
                        + CTKD_MIN_CONFIG + ", " + CTKD_MAX_CONFIG + "] = [" + ctkdMin() + ", " + ctkdMax() + "]");
            }
        }
    }

    private boolean isDefault(String key) {
        return java.util.Objects.equals(get(key), CONFIG.configKeys().get(key).defaultValue);
    }

    /** Cross-field rules of the EMA teacher and the label fraction. */
    private void validateEma() {
        if (!teacherEma()) {
            for (String key : EMA_KEYS) {
                // a key at its default is harmless (manifests, and so replays, carry every key with its value)
                if (!key.equals(LABEL_FRACTION_CONFIG) && !isDefault(key)) {
                    throw new ConfigException(key + " applies to the EMA teacher only, but " + TEACHER_CONFIG + "="
                            + getString(TEACHER_CONFIG) + "; set " + TEACHER_CONFIG + "=ema or stream+ema, or drop " + key);
                }
            }
        }
        if (labelFraction() <= 0 && !teacherStream() && !teacherEma()) {
            throw new ConfigException(LABEL_FRACTION_CONFIG + "=" + labelFraction() + " leaves no labels and "
                    + TEACHER_CONFIG + "=none has no teacher: there is nothing to learn from");
        }
        if (labelFraction() <= 0 && !teacherStream()) {
            throw new ConfigException(LABEL_FRACTION_CONFIG + "=" + labelFraction() + " leaves no labels and "
                    + TEACHER_CONFIG + "=ema only distils the student into itself: keep some labels (> 0) or add the "
                    + "stream teacher (stream+ema)");
        }
    }

    private static ConfigDef.Validator scheduleValidator() {
        return new ConfigDef.Validator() {
            @Override
            public void ensureValid(String name, Object value) {
                try {
                    Schedule.parse(String.valueOf(value));
                } catch (IllegalArgumentException e) {
                    throw new ConfigException(name, value, e.getMessage());
                }
            }

            @Override
            public String toString() {
                return "constant:V | linear:FROM:TO:STEPS | rising:TO:STEPS | step:V0,V1@S1,...";
            }
        };
    }

    /** Zoo students a run may name (the zoo's teacher is not one); a method, as the definition above uses it. */
    private static List<String> zooStudents() {
        return List.of(ModelZoo.FMNIST_MLP_STUDENT, ModelZoo.FMNIST_TINY_CNN_STUDENT);
    }

    private static ConfigDef.Validator studentValidator() {
        return new ConfigDef.Validator() {
            @Override
            public void ensureValid(String name, Object value) {
                String s = String.valueOf(value);
                if (ArchitectureSpec.isSpec(s)) {
                    try {
                        ArchitectureSpec.parse(s);
                    } catch (KdException e) {
                        throw new ConfigException(name, value, e.getMessage());
                    }
                } else if (!zooStudents().contains(s)) {
                    throw new ConfigException(name, value, "neither a zoo student " + zooStudents()
                            + " nor a spec (mlp:H1,H2,... or cnn:C1,C2,...[:denseU])");
                }
            }

            @Override
            public String toString() {
                return String.join(" | ", zooStudents()) + " | mlp:H1,H2,... | cnn:C1,C2,...[:denseU]";
            }
        };
    }

    private static ConfigDef.Validator shapeValidator() {
        return new ConfigDef.Validator() {
            @Override
            public void ensureValid(String name, Object value) {
                if (value instanceof List<?> l) {
                    for (Object d : l) {
                        try {
                            if (Integer.parseInt(String.valueOf(d).strip()) < 1) {
                                throw new ConfigException(name, value, "dimension " + d + " is not positive");
                            }
                        } catch (NumberFormatException e) {
                            throw new ConfigException(name, value, "dimension '" + d + "' is not an integer");
                        }
                    }
                }
            }

            @Override
            public String toString() {
                return "empty (detect) | positive integers, e.g. 3,32,32";
            }
        };
    }

    public String student() {
        return getString(STUDENT_CONFIG);
    }

    /** The TorchScript student file of {@value #STUDENT_MODEL_CONFIG}, when one is set. */
    public java.util.Optional<Path> studentModel() {
        String file = getString(STUDENT_MODEL_CONFIG);
        return file == null || file.isBlank() ? java.util.Optional.empty() : java.util.Optional.of(Path.of(file.trim()));
    }

    /** The configured per-example input shape of a spec student; empty when it is to be detected. */
    public List<Integer> inputShape() {
        return getList(INPUT_SHAPE_CONFIG).stream().map(d -> Integer.parseInt(d.strip())).toList();
    }

    /** The configured class count of a spec student; 0 when it is to be detected. */
    public int numClasses() {
        return getInt(NUM_CLASSES_CONFIG);
    }

    /** The topic of labelled InputRecords evaluations score on, or empty for the Fashion-MNIST files. */
    public String evalTopic() {
        return getString(EVAL_TOPIC_CONFIG).strip();
    }

    public boolean teacherStream() {
        String t = getString(TEACHER_CONFIG);
        return "stream".equals(t) || "stream+ema".equals(t);
    }

    @Override
    public String teacherSetting() {
        return TEACHER_CONFIG + "=" + getString(TEACHER_CONFIG);
    }

    /** Whether the EMA (mean) teacher is on: trainer.teacher=ema or stream+ema. */
    public boolean teacherEma() {
        String t = getString(TEACHER_CONFIG);
        return "ema".equals(t) || "stream+ema".equals(t);
    }

    /** Whether the trainer reads InputRecords from the inputs topic (EMA teacher alone) instead of teacher outputs. */
    public boolean readsInputs() {
        return "ema".equals(getString(TEACHER_CONFIG));
    }

    public double emaDecay() {
        return getDouble(EMA_DECAY_CONFIG);
    }

    public boolean emaWarmup() {
        return getBoolean(EMA_WARMUP_CONFIG);
    }

    public double consistencyWeight() {
        return getDouble(CONSISTENCY_WEIGHT_CONFIG);
    }

    public long consistencyRampupSteps() {
        return getLong(CONSISTENCY_RAMPUP_CONFIG);
    }

    public double consistencyTemperature() {
        return getDouble(CONSISTENCY_TEMPERATURE_CONFIG);
    }

    public double augmentNoiseStd() {
        return getDouble(AUGMENT_NOISE_STD_CONFIG);
    }

    public int augmentShiftPixels() {
        return getInt(AUGMENT_SHIFT_CONFIG);
    }

    public double labelFraction() {
        return getDouble(LABEL_FRACTION_CONFIG);
    }

    public int epochs() {
        return getInt(EPOCHS_CONFIG);
    }

    public boolean follow() {
        return getBoolean(FOLLOW_CONFIG);
    }

    public long followMaxWaitMs() {
        return getLong(FOLLOW_MAX_WAIT_CONFIG);
    }

    public boolean groupTraining() {
        return getBoolean(GROUP_TRAINING_CONFIG);
    }

    public int groupSyncIntervalSteps() {
        return getInt(GROUP_SYNC_INTERVAL_CONFIG);
    }

    public long groupSyncTimeoutMs() {
        return getLong(GROUP_SYNC_TIMEOUT_CONFIG);
    }

    public int groupMinMembers() {
        return getInt(GROUP_MIN_MEMBERS_CONFIG);
    }

    public int groupSyncChunkBytes() {
        return getInt(GROUP_SYNC_CHUNK_BYTES_CONFIG);
    }

    public long seed() {
        return getLong(SEED_CONFIG);
    }

    public String group() {
        return getString(GROUP_CONFIG);
    }

    public Path checkpointDir() {
        return Path.of(getString(CHECKPOINT_DIR_CONFIG));
    }

    public int checkpointInterval() {
        return getInt(CHECKPOINT_INTERVAL_CONFIG);
    }

    public int batchSize() {
        return getInt(BATCH_SIZE_CONFIG);
    }

    public int shuffleBuffer() {
        return getInt(SHUFFLE_BUFFER_CONFIG);
    }

    public int prefetchBatches() {
        return getInt(PREFETCH_CONFIG);
    }

    public String optimizer() {
        return getString(OPTIMIZER_CONFIG);
    }

    public Schedule learningRate() {
        return Schedule.parse(getString(LEARNING_RATE_CONFIG));
    }

    public double momentum() {
        return getDouble(MOMENTUM_CONFIG);
    }

    public long maxSteps() {
        return getLong(MAX_STEPS_CONFIG);
    }

    public String runId() {
        return getString(RUN_ID_CONFIG);
    }

    public String trainerId() {
        return getString(TRAINER_ID_CONFIG);
    }

    public int evalInterval() {
        return getInt(EVAL_INTERVAL_CONFIG);
    }

    public Path evalDir() {
        return Path.of(getString(EVAL_DIR_CONFIG));
    }

    public int evalMaxSamples() {
        return getInt(EVAL_MAX_SAMPLES_CONFIG);
    }

    /** Whether students are scored on the validation split carved from the training images instead of the test split. */
    public boolean evalOnValidation() {
        return "validation".equals(getString(EVAL_SPLIT_CONFIG));
    }

    public int evalValidationImages() {
        return getInt(EVAL_VALIDATION_IMAGES_CONFIG);
    }

    public int failuresMaxPerWindow() {
        return getInt(FAILURES_MAX_CONFIG);
    }

    public int failuresWindowSteps() {
        return getInt(FAILURES_WINDOW_CONFIG);
    }

    public Schedule temperature() {
        return Schedule.parse(getString(KD_TEMPERATURE_CONFIG));
    }

    public Schedule alpha() {
        return Schedule.parse(getString(KD_ALPHA_CONFIG));
    }

    public String kdLoss() {
        return getString(KD_LOSS_CONFIG);
    }

    public KlDirection klDirection() {
        return KlDirection.parse(getString(KD_DIRECTION_CONFIG));
    }

    /** The logit distillation term {@code kd.loss} names, built from the keys it owns. */
    public DistillationLoss distillationLoss() {
        return DistillationLosses.create(kdLoss(), this::getDouble);
    }

    public boolean ctkdEnabled() {
        return getBoolean(CTKD_ENABLED_CONFIG);
    }

    public double ctkdLambdaMax() {
        return getDouble(CTKD_LAMBDA_MAX_CONFIG);
    }

    public long ctkdRampSteps() {
        return getLong(CTKD_RAMP_CONFIG);
    }

    public double ctkdMin() {
        return getDouble(CTKD_MIN_CONFIG);
    }

    public double ctkdMax() {
        return getDouble(CTKD_MAX_CONFIG);
    }

    public double ctkdAnchorWeight() {
        return getDouble(CTKD_ANCHOR_WEIGHT_CONFIG);
    }

    /** Global gradient-norm bound, 0 when clipping is off. */
    public double gradClipNorm() {
        return getDouble(GRAD_CLIP_CONFIG);
    }

    public double featureWeight() {
        return getDouble(FEATURE_WEIGHT_CONFIG);
    }

    public FeatureKd.Distance featureDistance() {
        return FeatureKd.Distance.parse(getString(FEATURE_DISTANCE_CONFIG));
    }

    public boolean featureNormalize() {
        return getBoolean(FEATURE_NORMALIZE_CONFIG);
    }

    /** Hex sha256 of the canonical {@code key=value\n} form (sorted) of a string map. */
    public static String canonicalSha256(Map<String, String> config) {
        StringBuilder sb = new StringBuilder();
        new TreeMap<>(config).forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(sb.toString().getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The settings that determine the trained parameters (every {@code trainer.*} and {@code kd.*} key of this
     * definition except those naming where and as whom the run executes), rendered as strings.
     */
    public Map<String, String> trainingSettings() {
        Map<String, String> out = new TreeMap<>();
        for (String key : List.copyOf(CONFIG.names())) {
            if ((key.startsWith("trainer.") || (key.startsWith("kd.") && !key.startsWith("kd.topic"))) && !NON_TRAINING_KEYS.contains(key)) {
                Object v = get(key);
                if (!FIRST_FORMAT_KEYS.contains(key) && isDefault(key)) {
                    continue;
                }
                out.put(key, v instanceof List<?> l ? String.join(",", l.stream().map(String::valueOf).toList()) : String.valueOf(v));
            }
        }
        return out;
    }
}
