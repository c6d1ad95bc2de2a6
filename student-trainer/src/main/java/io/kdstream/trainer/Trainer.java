package io.kdstream.trainer;

import io.kdstream.avro.EvalResult;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.InputRecord;
import io.kdstream.avro.PartitionRange;
import io.kdstream.avro.RunManifest;
import io.kdstream.avro.RunStatus;
import io.kdstream.avro.TeacherFeatures;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.avro.TrainingStep;
import io.kdstream.core.KdException;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.kafka.DeadLetterPublisher;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.model.ModelStore;
import io.kdstream.core.model.SavedModel;
import io.kdstream.core.zoo.Architecture;
import io.kdstream.trainer.student.TorchScriptStudent;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.source.BatchReader;
import io.kdstream.trainer.state.Checkpoint;
import io.kdstream.trainer.source.BatchSource;
import io.kdstream.trainer.source.Cursor;
import io.kdstream.trainer.source.EvalTopicReader;
import io.kdstream.trainer.source.FollowReader;
import io.kdstream.trainer.loop.CheckpointHook;
import io.kdstream.trainer.loop.EvaluationHook;
import io.kdstream.trainer.loop.FailureBudget;
import io.kdstream.trainer.loop.FailureHook;
import io.kdstream.trainer.loop.LedgerHook;
import io.kdstream.trainer.loop.StepRecordHook;
import io.kdstream.trainer.loop.TrainingLoop;
import io.kdstream.trainer.run.Ledger;
import io.kdstream.trainer.source.LedgerReader;
import io.kdstream.trainer.source.RecordDecoder;
import io.kdstream.trainer.source.CompanionFeatures;
import io.kdstream.trainer.source.StreamShapeProbe;
import io.kdstream.trainer.source.TeacherOutputDecoder;
import io.kdstream.trainer.source.TopicRanges;
import io.kdstream.trainer.state.TrainingSettingsFile;
import io.kdstream.trainer.run.StepPublisher;
import io.kdstream.trainer.state.TrainingCore;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The student trainer: reads a bounded offset range of the teacher-outputs topic (snapshotted at the start, or given
 * by a manifest for a replay), trains the student for the configured epochs with the configured distillation losses,
 * and checkpoints so that a crashed run resumes where its last checkpoint left off, training every record exactly
 * once. Publishes a {@code TrainingStep} per step, an {@code EvalResult} per evaluation, and a {@code RunManifest} at
 * the start and the end; bad records go to the dead-letter topic.
 *
 * <pre>{@code
 * try (Trainer trainer = Trainer.builder().setConfig(config).build()) {
 *     Trainer.Result result = trainer.run();
 * }
 * }</pre>
 */
public final class Trainer implements AutoCloseable {
    /** Step records that may wait for the publishing thread before the training thread blocks. */
    private static final int STEP_QUEUE = 1024;

    private static final Logger LOGGER = LoggerFactory.getLogger(Trainer.class);
    public static final String COMPONENT = "student-trainer";
    public static final String MODEL_DIR = "model";
    private static final int EVAL_BATCH = 500;
    /**
     * How long a lookup of a companion feature record waits behind an open teacher transaction (twice the teacher's
     * default transaction.timeout.ms).
     */
    private static final long COMPANION_TIMEOUT_MS = 120_000;

    public static final String LEDGER_FILE = "ledger.tsv";
    /** Directory of the EMA teacher's weights next to the model, for runs with an EMA teacher. */
    public static final String EMA_MODEL_DIR = "model-ema";
    /** Manifest entry recording the engine's intra-op thread setting: CPU results are bitwise stable for a fixed count. */
    public static final String RUNTIME_THREADS_KEY = "runtime.pytorch.num_threads";

    private final TrainerConfig config;
    private final List<PartitionRange> rangesOverride;
    private final List<List<Batch.Segment>> ledgerOverride;
    private final java.util.function.Consumer<TrainingStep> stepListener;
    private volatile boolean stopRequested;

    /**
     * Time spent per part of the loop, summed over the run (nanoseconds); {@code firstBatchNanos} is the wait for the
     * first batch (connecting, first fetch, first shuffle block), included in {@code loopNanos}.
     */
    public record Timings(long decodeNanos, long waitNanos, long forwardBackwardNanos, long optimizerNanos, long publishNanos,
                          long firstBatchNanos, long loopNanos, long totalNanos) {
    }

    /**
     * The outcome of {@link #run()}.
     *
     * @param runId         run id
     * @param completed     true when the run finished (range exhausted or step limit reached); false when stopped early
     * @param modelSha256   sha256 of the final parameter file, or null when not completed
     * @param modelDir      where the final model and its manifest are, or null when not completed
     * @param steps         steps taken (including skipped ones)
     * @param samples       examples trained on
     * @param failedSteps   steps skipped for a non-finite loss
     * @param deadLetters   records this process dead-lettered
     * @param accuracy      final student accuracy on the held-out set, or null without evaluation
     * @param manifest      the final manifest, or null when not completed
     * @param timings       where the time went (this process only)
     * @param skippedUnlabelled unlabelled records a labels-only run ({@code trainer.teacher=none}) passed over, once per
     *                      epoch they were read in (this process only); 0 in every other mode
     */
    public record Result(String runId, boolean completed, String modelSha256, Path modelDir, long steps, long samples,
                         long failedSteps, long deadLetters, Double accuracy, RunManifest manifest, Timings timings,
                         long skippedUnlabelled) {
    }

    private Trainer(TrainerConfig config, List<PartitionRange> rangesOverride, List<List<Batch.Segment>> ledgerOverride,
                    java.util.function.Consumer<TrainingStep> stepListener) {
        this.config = config;
        this.rangesOverride = rangesOverride;
        this.ledgerOverride = ledgerOverride;
        this.stepListener = stepListener;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Builds a {@link Trainer}: {@code setConfig} is required; {@code optRanges} replays fixed offset ranges;
     * {@code optLedger} replays the per-step offset segments of an online run.
     */
    public static final class Builder {
        private TrainerConfig config;
        private List<PartitionRange> ranges;
        private List<List<Batch.Segment>> ledger;
        private java.util.function.Consumer<TrainingStep> stepListener = step -> { };

        private Builder() {
        }

        public Builder setConfig(TrainerConfig config) {
            this.config = config;
            return this;
        }

        public Builder optRanges(List<PartitionRange> ranges) {
            this.ranges = ranges == null ? null : List.copyOf(ranges);
            return this;
        }

        public Builder optLedger(List<List<Batch.Segment>> ledger) {
            this.ledger = ledger == null ? null : List.copyOf(ledger);
            return this;
        }

        /**
         * Called on the training thread with every step's record, as it is handed to the metrics publisher (e.g. to
         * update in-process meters); it must be cheap and must not keep the record's arrays.
         */
        public Builder optStepListener(java.util.function.Consumer<TrainingStep> listener) {
            this.stepListener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        public Trainer build() {
            Objects.requireNonNull(config, "config is required (setConfig)");
            if (ranges != null && ranges.isEmpty()) {
                throw new IllegalArgumentException("optRanges needs at least one range");
            }
            if (ledger != null && (ranges == null || config.follow())) {
                throw new IllegalArgumentException("optLedger replays an online run: it needs optRanges and "
                        + TrainerConfig.FOLLOW_CONFIG + "=false");
            }
            if (config.groupTraining() && ranges != null) {
                throw new IllegalArgumentException(TrainerConfig.GROUP_TRAINING_CONFIG + "=true trains the live group: "
                        + "optRanges and optLedger (replay) need it off");
            }
            return new Trainer(config, ranges, ledger, stepListener);
        }
    }

    /** Asks a running {@link #run()} to stop after the current step, checkpoint and return. Thread-safe. */
    public void stop() {
        stopRequested = true;
    }

    /** The EMA teacher's weights saved by a finished run with an EMA teacher ({@value #EMA_MODEL_DIR} next to its model). */
    public static Optional<SavedModel> emaModel(Result result) {
        if (result.modelDir() == null) {
            return Optional.empty();
        }
        Path dir = result.modelDir().resolveSibling(EMA_MODEL_DIR);
        return java.nio.file.Files.isDirectory(dir) ? Optional.of(ModelStore.read(dir)) : Optional.empty();
    }

    /** The intra-op thread setting of this process ({@code ai.djl.pytorch.num_threads}), or {@code default}. */
    public static String runtimeThreads() {
        return System.getProperty("ai.djl.pytorch.num_threads", "default");
    }

    /** The code version recorded in manifests. */
    public static String codeVersion() {
        String v = Trainer.class.getPackage().getImplementationVersion();
        return "kdstream " + (v == null ? "dev" : v);
    }

    /** Trains (or resumes) the run in the configured checkpoint directory. */
    public Result run() {
        if (config.groupTraining()) {
            return new GroupTrainer(config, () -> stopRequested, stepListener).run();
        }
        long runStart = System.nanoTime();
        // with the EMA teacher alone there are no teacher outputs to read: the run reads the inputs themselves
        String topic = config.readsInputs() ? config.topics().inputs() : config.topics().teacherOutputs();
        Architecture architecture = StudentArchitectures.resolve(config, topic, config.readsInputs(), () -> stopRequested);
        if (distilsFeatures()) {
            requireFeatureMaps(config, () -> stopRequested);
        }
        Path dir = config.checkpointDir();
        String trainingSha = TrainerConfig.canonicalSha256(config.trainingSettings());
        Optional<Checkpoint> checkpoint = checkpointOf(dir, trainingSha);
        String runId = checkpoint.map(Checkpoint::runId)
                .orElse(config.runId().isBlank() ? UUID.randomUUID().toString() : config.runId());
        Map<String, Object> serde = config.serdeProperties();
        Serializer<TrainingStep> stepSerializer = KdAvroSerdes.value(TrainingStep.class, serde).serializer();
        Serializer<EvalResult> evalSerializer = KdAvroSerdes.value(EvalResult.class, serde).serializer();
        Serializer<RunManifest> manifestSerializer = KdAvroSerdes.value(RunManifest.class, serde).serializer();
        Serializer<FailureEvent> failureSerializer = KdAvroSerdes.value(FailureEvent.class, serde).serializer();
        DeadLetterPublisher dlq = new DeadLetterPublisher(COMPONENT, config.topics().dlq(), failureSerializer);
        StudentArchitectures.remember(config, architecture);

        try (Producer<byte[], byte[]> producer = KafkaClients.producer(config, "kd-trainer-" + runId, Map.of());
             StepPublisher<TrainingStep> steps = new StepPublisher<>(producer, stepSerializer, config.topics().metrics(),
                     STEP_QUEUE, "kd-steps-" + runId);
             TrainingCore core = new TrainingCore(config, architecture)) {
            List<PartitionRange> ranges = checkpoint.map(Checkpoint::ranges)
                    .orElseGet(() -> rangesToTrain(topic));
            if (architecture instanceof TorchScriptStudent student) {
                checkAgainstStream(student, ranges, serde);
            }
            long startedAtMs = checkpoint.map(Checkpoint::startedAtMs).orElse(System.currentTimeMillis());
            RunManifest.Builder manifest = RunManifests.started(config, runId, architecture.name(), ranges, startedAtMs);
            AtomicReference<String> teacherSha = new AtomicReference<>();
            TrainingLoop.Progress progress;
            if (checkpoint.isPresent()) {
                progress = resume(checkpoint.get(), core, runId, teacherSha);
            } else {
                progress = new TrainingLoop.Progress(0, 0, 0, startCursor(ranges));
                send(producer, config.topics().runs(), runId, manifestSerializer.serialize(config.topics().runs(), manifest.build()));
                LOGGER.info("Starting run {}: student={} teacher={} ranges={}", runId, architecture.name(),
                        config.getString(TrainerConfig.TEACHER_CONFIG), TopicRanges.describe(ranges));
            }

            Path ledgerFile = dir.resolve(LEDGER_FILE).toAbsolutePath();
            if (config.follow()) {
                Ledger.truncate(ledgerFile, progress.steps());
                manifest.setLedgerPath(ledgerFile.toString());
            }
            TeacherOutputDecoder decoder = RecordDecoders.teacherOutputs(config, architecture, distilsFeatures());
            if (distilsFeatures()) {
                decoder.withCompanion(companionFeatures(config));
            }
            RecordDecoder recordDecoder = RecordDecoders.forRun(config, architecture, decoder);
            FailureBudget budget = new FailureBudget(config.failuresMaxPerWindow(), config.failuresWindowSteps(),
                    TrainerConfig.FAILURES_MAX_CONFIG + " / " + TrainerConfig.FAILURES_WINDOW_CONFIG);
            Evaluation evaluation = new Evaluation(config, core);
            StepRecordHook stepRecords = new StepRecordHook(steps,
                    new StepRecordHook.Identity(runId, config.trainerId(), config.group()), stepListener);
            TrainingLoop.End ending;
            long loopStart = System.nanoTime();
            try (decoder;
                 BatchSource reader = source(architecture, ranges, progress.cursor(), recordDecoder,
                    (record, cause) -> dlq.publish(producer, record, cause));
                 Ledger ledger = config.follow() ? Ledger.append(ledgerFile) : null) {
                List<TrainingLoop.Hook> hooks = new ArrayList<>();
                hooks.add(stepRecords);
                hooks.add(new FailureHook(runId, budget, (reason, batch, at) -> dlq.publish(producer, FailureKind.NON_FINITE,
                        reason, batch.first(), Map.of("runId", runId, "step", Long.toString(at)), null), () -> {
                            RunManifest failed = manifest.setStatus(RunStatus.FAILED).setEndedAtMs(Instant.now()).build();
                            steps.drain();
                            send(producer, config.topics().runs(), runId, manifestSerializer.serialize(config.topics().runs(), failed));
                            producer.flush();
                        }));
                if (ledger != null) {
                    hooks.add(new LedgerHook(ledger, config.checkpointInterval()));
                }
                hooks.add(teacherShaHook(decoder, teacherSha));
                hooks.add(new CheckpointHook(config.checkpointInterval(), p -> {
                    writeCheckpoint(dir, core, runId, trainingSha, p, startedAtMs, teacherSha.get(), ranges);
                    reader.requestCommit(p.cursor().blockStart());
                }));
                hooks.add(new EvaluationHook(config.evalInterval(), at -> evaluation.run(producer, evalSerializer, runId, at)));
                loopStart = System.nanoTime();
                ending = new TrainingLoop(reader, core::step, config.maxSteps(), () -> stopRequested, hooks).run(progress);
            }
            boolean completed = ending != TrainingLoop.End.STOPPED || config.follow();
            long step = progress.steps();
            long samples = progress.samples();
            long failedSteps = progress.failedSteps();
            long loopNanos = System.nanoTime() - loopStart;
            writeCheckpoint(dir, core, runId, trainingSha, progress, startedAtMs, teacherSha.get(), ranges);
            long deadLetters = dlq.count();
            Timings timings = new Timings(progress.decodeNanos(), progress.waitNanos(), progress.forwardBackwardNanos(),
                    progress.optimizerNanos(), stepRecords.publishNanos(), progress.firstBatchNanos(), loopNanos,
                    System.nanoTime() - runStart);
            if (!completed) {
                LOGGER.info("Run {} stopped at step {}; resume it with the same {}", runId, step, TrainerConfig.CHECKPOINT_DIR_CONFIG);
                steps.drain();
                producer.flush();
                return new Result(runId, false, null, null, step, samples, failedSteps, deadLetters, null, null, timings,
                        decoder.skippedUnlabelled());
            }
            Double accuracy = evaluation.run(producer, evalSerializer, runId, step);
            Path modelDir = dir.resolve(MODEL_DIR);
            String sha = saveModel(core, architecture, runId, modelDir);
            if (config.follow()) {
                manifest.setRanges(trainedRanges(ranges, progress.cursor()));
            }
            RunManifest done = RunManifests.finish(manifest, config, teacherSha.get(), sha, modelDir);
            steps.drain(); // every step record leaves before the FINISHED manifest (the monitors close the run on it)
            send(producer, config.topics().runs(), runId, manifestSerializer.serialize(config.topics().runs(), done));
            producer.flush();
            LOGGER.info("Run {} finished: {} steps, {} samples, {} failed steps, {} dead letters, model sha256 {}", runId, step,
                    samples, failedSteps, deadLetters, sha);
            if (decoder.skippedUnlabelled() > 0) {
                LOGGER.info("Run {}: labels-only, passed over {} unlabelled records", runId, decoder.skippedUnlabelled());
            }
            return new Result(runId, true, sha, modelDir, step, samples, failedSteps, deadLetters, accuracy, done, timings,
                    decoder.skippedUnlabelled());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KdException("Training of run " + runId + " was interrupted", e);
        }
    }

    /** Keeps the sha256 of the teacher the run distils, from the first record that names it. */
    private static TrainingLoop.Hook teacherShaHook(TeacherOutputDecoder decoder, AtomicReference<String> teacherSha) {
        return (p, batch, o) -> {
            if (decoder.teacherSha256() != null && teacherSha.get() == null) {
                teacherSha.set(decoder.teacherSha256());
            }
        };
    }

    /** The ranges a new run trains: the replayed ones ({@code --ranges}), or the topic's as of now. */
    private List<PartitionRange> rangesToTrain(String topic) {
        return rangesOverride != null ? rangesOverride : snapshot(topic, config.follow());
    }

    /** The directory's checkpoint, if any; refused when it was written with other training settings. */
    private Optional<Checkpoint> checkpointOf(Path dir, String trainingSha) {
        Optional<Checkpoint> checkpoint = Checkpoint.read(dir);
        if (checkpoint.isPresent() && !checkpoint.get().trainingSha256().equals(trainingSha)) {
            throw new KdException(TrainingSettingsFile.mismatch(dir, config.trainingSettings(),
                    checkpoint.get().trainingSha256(), trainingSha));
        }
        TrainingSettingsFile.write(dir, config.trainingSettings());
        return checkpoint;
    }

    /** Restores the model and optimizer from {@code c}: the loop's progress at the checkpoint. */
    private static TrainingLoop.Progress resume(Checkpoint c, TrainingCore core, String runId, AtomicReference<String> teacherSha) {
        core.restore(c.arrays(), c.shapes(), c.optimizerUpdates());
        if (!c.teacherSha256().isEmpty()) {
            teacherSha.set(c.teacherSha256());
        }
        Cursor cursor = c.cursor();
        LOGGER.info("Resuming run {} from checkpoint at step {} (epoch {}, block {}, skip {})", runId, c.step(),
                cursor.epoch(), cursor.block(), cursor.skip());
        return new TrainingLoop.Progress(c.step(), c.samples(), c.failedSteps(), cursor);
    }

    /** The cursor at the start of a run over {@code ranges}. */
    static Cursor startCursor(List<PartitionRange> ranges) {
        Map<Integer, Long> starts = new TreeMap<>();
        ranges.forEach(r -> starts.put(r.getPartition(), r.getStartOffset()));
        return Cursor.startOf(0, starts);
    }

    /**
     * Saves the trained student (and its TorchScript export, and the EMA teacher when the run has one) under
     * {@code modelDir}; returns the student's parameters sha256.
     */
    private String saveModel(TrainingCore core, Architecture architecture, String runId, Path modelDir) {
        SavedModel saved = ModelStore.saveTo(modelDir, core.block(), ModelMetadata.draft(architecture, ModelStore.PARAMETERS_FILE));
        TorchScriptStudent.exportInto(architecture, core.block(), modelDir).ifPresent(ts -> LOGGER.info(
                "Run {}: TorchScript student written to {} (sha256 {})", runId, ts.parametersPath(),
                ts.metadata().parametersSha256()));
        if (core.emaBlock().isPresent()) {
            // the mean teacher is often the better model: kept next to the student, in the same format
            SavedModel ema = ModelStore.saveTo(config.checkpointDir().resolve(EMA_MODEL_DIR), core.emaBlock().get(),
                    ModelMetadata.draft(architecture, ModelStore.PARAMETERS_FILE));
            TorchScriptStudent.exportInto(architecture, core.emaBlock().get(), ema.dir());
            LOGGER.info("Run {}: EMA teacher weights saved to {} (sha256 {})", runId, ema.dir(),
                    ema.metadata().parametersSha256());
        }
        return saved.metadata().parametersSha256();
    }

    /** What a follow run trained of each range: from its start to the cursor's next offset. */
    private static List<PartitionRange> trainedRanges(List<PartitionRange> ranges, Cursor cursor) {
        List<PartitionRange> trained = new ArrayList<>();
        for (PartitionRange r : ranges) {
            long end = cursor.blockStart().getOrDefault(r.getPartition(), r.getStartOffset());
            trained.add(new PartitionRange(r.getTopic(), r.getPartition(), r.getStartOffset(), end));
        }
        return trained;
    }

    private boolean distilsFeatures() {
        return config.teacherStream() && config.featureWeight() > 0 && !config.readsInputs();
    }

    /**
     * Refuses a run that distils features from a stream whose teacher published none (its first decodable output
     * tells), instead of dead-lettering every record.
     */
    static void requireFeatureMaps(TrainerConfig config, java.util.function.BooleanSupplier stopped) {
        String topic = config.topics().teacherOutputs();
        StreamShapeProbe.FeatureSupply supply = StreamShapeProbe.featureSupply(new StreamShapeProbe.Reading(config,
                config.follow(), "set " + TrainerConfig.FEATURE_WEIGHT_CONFIG + "=0"), topic, stopped);
        if (supply == StreamShapeProbe.FeatureSupply.NONE) {
            throw new KdException(TrainerConfig.FEATURE_WEIGHT_CONFIG + "=" + config.featureWeight() + " distils the "
                    + "teacher's feature maps, but the teacher outputs on " + topic + " carry none: serve the teacher "
                    + "with feature maps (teacher.features empty for all of them, or their names; they go to "
                    + config.topics().teacherFeatures() + "), or set " + TrainerConfig.FEATURE_WEIGHT_CONFIG + "=0");
        }
        LOGGER.info("Feature maps of {} are {}", topic, supply == StreamShapeProbe.FeatureSupply.COMPANION
                ? "on the companion topic " + config.topics().teacherFeatures() : "inline");
    }

    /** The reader of the companion features topic for a run that distils features. */
    static CompanionFeatures companionFeatures(TrainerConfig config) {
        return new CompanionFeatures(() -> KafkaClients.consumer(config, null,
                Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500, ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false)),
                KdAvroSerdes.value(TeacherFeatures.class, config.serdeProperties()).deserializer(),
                CompanionFeatures.DEFAULT_WINDOW, COMPANION_TIMEOUT_MS);
    }

    private BatchSource source(Architecture architecture, List<PartitionRange> ranges, Cursor cursor, RecordDecoder decoder,
                               BatchReader.DeadLetters deadLetters) {
        String topic = ranges.get(0).getTopic();
        if (ledgerOverride != null) {
            return new LedgerReader(() -> KafkaClients.consumer(config, null, LedgerReader.CONSUMER_OVERRIDES), topic, ledgerOverride,
                    architecture.inputSize(), architecture.numClasses(), decoder, config.prefetchBatches());
        }
        if (config.follow()) {
            return new FollowReader(
                    () -> KafkaClients.consumer(config, config.group(), Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1000)),
                    topic, cursor.blockStart(), config.batchSize(), config.followMaxWaitMs(), architecture.inputSize(),
                    architecture.numClasses(), decoder, deadLetters, config.prefetchBatches());
        }
        return new BatchReader(
                () -> KafkaClients.consumer(config, config.group(), Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1000)),
                ranges, cursor, config.epochs(), config.seed(), config.batchSize(), config.shuffleBuffer(),
                architecture.inputSize(), architecture.numClasses(), decoder, deadLetters, config.prefetchBatches());
    }

    /**
     * Compares a TorchScript student with the first record of the run's ranges (input size, teacher class count), so
     * a student that cannot fit the stream stops the run at start instead of dead-lettering every record.
     */
    private void checkAgainstStream(TorchScriptStudent student, List<PartitionRange> ranges, Map<String, Object> serde) {
        Optional<byte[]> first;
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
            first = io.kdstream.trainer.student.StreamProbe.firstValue(consumer, ranges, Duration.ofSeconds(10));
        }
        if (first.isEmpty()) {
            return;
        }
        String topic = ranges.get(0).getTopic();
        try {
            if (config.readsInputs()) {
                InputRecord in = KdAvroSerdes.value(InputRecord.class, serde).deserializer().deserialize(topic, first.get());
                student.checkStream(in.getInput().getShape(), null, topic);
            } else {
                TeacherOutput out = KdAvroSerdes.value(TeacherOutput.class, serde).deserializer().deserialize(topic, first.get());
                student.checkStream(out.getInput() == null ? null : out.getInput().getShape(),
                        config.teacherStream() ? out.getLogits().getNumClasses() : null, topic);
            }
        } catch (org.apache.kafka.common.errors.SerializationException e) {
            // an undecodable first record is the dead-letter path's business, not a property of the student
            LOGGER.debug("First record of {} not decodable for the student check: {}", topic, e.toString());
        }
    }

    private void writeCheckpoint(Path dir, TrainingCore core, String runId, String trainingSha, TrainingLoop.Progress progress,
                                 long startedAtMs, String teacherSha, List<PartitionRange> ranges) {
        Map<String, long[]> shapes = new HashMap<>();
        Map<String, float[]> arrays = core.snapshot(shapes);
        new Checkpoint(runId, trainingSha, progress.steps(), progress.samples(), progress.failedSteps(),
                core.optimizerUpdates(), startedAtMs, teacherSha == null ? "" : teacherSha, ranges, progress.cursor(), arrays,
                shapes).write(dir);
        // a TorchScript student is also usable from PyTorch at every checkpoint, without waiting for the run's end
        TorchScriptStudent.exportInto(core.architecture(), core.block(), dir.resolve(TorchScriptStudent.CHECKPOINT_EXPORT_DIR));
        LOGGER.debug("Checkpoint of run {} at step {}", runId, progress.steps());
    }

    /** The current offset range of every partition of {@code topic} (end offsets as read_committed sees them). */
    private List<PartitionRange> snapshot(String topic, boolean follow) {
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
            List<PartitionRange> ranges = TopicRanges.of(consumer, topic);
            if (!follow && ranges.stream().allMatch(r -> r.getEndOffset() <= r.getStartOffset())) {
                throw new KdException("Topic " + topic + " holds no committed records to train on.");
            }
            return ranges;
        }
    }

    private static void send(Producer<byte[], byte[]> producer, String topic, String key, byte[] value) {
        producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value), (md, e) -> {
            if (e != null) {
                LOGGER.warn("Publishing to {} failed: {}", topic, e.toString());
            }
        });
    }

    @Override
    public void close() {
        stop();
    }

    /**
     * Evaluation on the held-out set: the first N usable records of {@code trainer.eval.topic} when it is set, else
     * the first N examples of the Fashion-MNIST test (or validation) split. Loaded once, at the first evaluation.
     */
    static final class Evaluation {
        /** Per-example shape of the Fashion-MNIST images the default held-out set holds. */
        private static final List<Integer> FASHION_MNIST_SHAPE = List.of(1, 28, 28);
        private final TrainerConfig config;
        private final TrainingCore core;
        private float[] inputs;
        private int[] labels;
        private String dataset;
        private boolean unavailable;

        Evaluation(TrainerConfig config, TrainingCore core) {
            this.config = config;
            this.core = core;
        }

        Double run(Producer<byte[], byte[]> producer, Serializer<EvalResult> serializer, String runId, long step) {
            if (config.evalMaxSamples() == 0 || unavailable || !load()) {
                return null;
            }
            double[] r = core.evaluate(inputs, labels, EVAL_BATCH);
            double[] ema = core.evaluateEma(inputs, labels, EVAL_BATCH);
            // with the EMA teacher alone it is the run's teacher: its accuracy and agreement fill the teacher fields
            boolean emaIsTeacher = ema != null && !config.teacherStream();
            EvalResult result = EvalResult.newBuilder()
                    .setRunId(runId).setTrainerId(config.trainerId()).setStep(step).setTimestampMs(Instant.now())
                    .setDataset(dataset)
                    .setSamples(labels.length).setStudentAccuracy(r[0])
                    .setTeacherAccuracy(emaIsTeacher ? ema[0] : null).setAgreement(emaIsTeacher ? ema[1] : null).setLoss(r[1])
                    .setEmaTeacherAccuracy(ema == null ? null : ema[0])
                    .build();
            if (ema != null) {
                LOGGER.info("Run {} step {}: EMA teacher accuracy {}, student agreement {}", runId, step,
                        String.format(java.util.Locale.ROOT, "%.4f", ema[0]), String.format(java.util.Locale.ROOT, "%.4f", ema[1]));
            }
            send(producer, config.topics().eval(), runId, serializer.serialize(config.topics().eval(), result));
            LOGGER.info("Run {} step {}: student accuracy {} on {} examples of {} (loss {})", runId, step,
                    String.format(java.util.Locale.ROOT, "%.4f", r[0]), labels.length, dataset,
                    String.format(java.util.Locale.ROOT, "%.4f", r[1]));
            return r[0];
        }

        private boolean load() {
            if (inputs != null) {
                return true;
            }
            if (!config.evalTopic().isEmpty()) {
                EvalTopicReader held;
                try {
                    held = EvalTopicReader.read(config, config.evalTopic(), TrainerConfig.EVAL_TOPIC_CONFIG, core.architecture(),
                            KdAvroSerdes.value(InputRecord.class, config.serdeProperties()).deserializer(), config.evalMaxSamples());
                } catch (KdException e) {
                    // like a missing Fashion-MNIST directory: the run goes on (and saves its model) without evaluation
                    LOGGER.warn("No evaluation: {}", e.getMessage());
                    unavailable = true;
                    return false;
                }
                if (held.size() == 0) {
                    LOGGER.warn("No evaluation: topic {} ({}) holds no usable labelled record", config.evalTopic(),
                            TrainerConfig.EVAL_TOPIC_CONFIG);
                    unavailable = true;
                    return false;
                }
                inputs = held.inputs();
                labels = held.labels();
                dataset = "topic:" + config.evalTopic();
                return true;
            }
            dataset = config.evalOnValidation() ? "fashion-mnist/validation" : "fashion-mnist/test";
            Architecture student = core.architecture();
            if (!student.inputShape().equals(FASHION_MNIST_SHAPE) || student.numClasses() != FashionMnist.NUM_CLASSES) {
                LOGGER.warn("No evaluation: student {} takes inputs {} with {} classes, not Fashion-MNIST's; set {} to a "
                        + "topic of labelled held-out records", student.name(), student.inputShape(), student.numClasses(),
                        TrainerConfig.EVAL_TOPIC_CONFIG);
                unavailable = true;
                return false;
            }
            if (!Files.isDirectory(config.evalDir())) {
                LOGGER.warn("No evaluation: {} is not a directory ({})", config.evalDir(), TrainerConfig.EVAL_DIR_CONFIG);
                unavailable = true;
                return false;
            }
            // the validation split is the tail of the training images: a tuning run trains on a stream without them
            boolean validation = config.evalOnValidation();
            FashionMnist data = FashionMnist.load(config.evalDir(), validation ? FashionMnist.Split.TRAIN : FashionMnist.Split.TEST);
            int from = validation ? Math.max(0, data.size() - config.evalValidationImages()) : 0;
            int n = Math.min(data.size() - from, config.evalMaxSamples());
            int size = data.imageSize();
            byte[] pixels = data.pixels();
            inputs = new float[n * size];
            for (int i = 0; i < n * size; i++) {
                inputs[i] = (pixels[from * size + i] & 0xFF) * (1f / 255f);
            }
            labels = java.util.Arrays.copyOfRange(data.labels(), from, from + n);
            LOGGER.info("Evaluating on {} images {}..{} of {}", n, from, from + n - 1, data.source());
            return true;
        }
    }
}
