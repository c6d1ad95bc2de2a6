package io.kdstream.ops.demo;

import io.kdstream.avro.Alert;
import io.kdstream.avro.AlertState;
import io.kdstream.avro.EvalResult;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.InputRecord;
import io.kdstream.avro.MonitorEvent;
import io.kdstream.avro.RunManifest;
import io.kdstream.avro.TrainingStep;
import io.kdstream.core.KdException;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.data.LabelSelection;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.core.kafka.Topics;
import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.model.ModelStore;
import io.kdstream.core.model.SavedModel;
import io.kdstream.core.zoo.ModelZoo;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.ops.cli.ProgressBar;
import io.kdstream.ops.ingest.FashionMnistIngest;
import io.kdstream.ops.ingest.IngestResult;
import io.kdstream.ops.report.HtmlReport;
import io.kdstream.ops.report.PipelineData;
import io.kdstream.ops.stack.LocalStack;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.streams.MonitorApp;
import io.kdstream.streams.MonitorConfig;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.TeacherLoader;
import io.kdstream.teacher.serve.TeacherConfig;
import io.kdstream.teacher.serve.TeacherService;
import io.kdstream.teacher.train.Augmentation;
import io.kdstream.teacher.train.TeacherTrainer;
import io.kdstream.teacher.train.TrainingListener;
import io.kdstream.teacher.train.TrainingResult;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;

import ai.djl.Device;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The whole job in one process: starts the local stack, creates the topics, publishes Fashion-MNIST, trains (or
 * reuses) the teacher, serves it until every input has a teacher output or a dead letter, trains a distilling student
 * and a labels-only baseline side by side on the same teacher-outputs topic (two consumer groups: fan-out) while the
 * monitors watch, then reads every result topic back and writes the HTML report.
 *
 * <p>{@link #stop()} (from a shutdown hook) makes {@link #run()} stop at the next check; {@link #close()} stops what
 * is running in the reverse order it was started. Progress goes to the progress stream, phase lines to the console.
 */
public final class DemoRunner implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(DemoRunner.class);
    /** File that marks a directory as a demo data directory, which a later demo may wipe. */
    public static final String MARKER_FILE = ".kdstream-demo";
    static final String KD_GROUP = "kd-demo-distill";
    static final String BASELINE_GROUP = "kd-demo-baseline";
    /** The distilling trainers: members of one group that average their parameters ({@code trainer.group.training}). */
    static final List<String> KD_TRAINERS = List.of("kd-0", "kd-1");
    /** Local steps between the group's averaging rounds. */
    static final int KD_SYNC_INTERVAL_STEPS = 10;
    /**
     * The group's learning rate: the trainers' default (constant 0.001) times the number of members. Each averaged
     * round stands for one batch per member, so at the same number of epochs the group makes half as many sequential
     * updates as one trainer; scaling the rate with the members (the linear scaling rule) makes up for it (measured
     * in docs/demo.md).
     */
    static final String KD_GROUP_LEARNING_RATE = "constant:0.002";
    static final String BASELINE_TRAINER = "baseline-0";
    static final String MONITOR_APP_ID = "kdstream-demo-monitor";
    private static final Duration SERVE_STALL = Duration.ofMinutes(3);
    private static final Duration MONITOR_DRAIN = Duration.ofSeconds(30);
    private static final int PHASES = 8;

    private final DemoPlan plan;
    private final Path dataDir;
    private final Path reportFile;
    private final ModelStore store;
    private final Path dataset;
    private final PrintWriter console;
    private final PrintStream progressOut;
    private final ProgressBar.Mode progressMode;
    private final Deque<Named> resources = new ArrayDeque<>();
    private final Map<String, Double> phaseSeconds = new LinkedHashMap<>();
    private final List<Trainer> trainers = new ArrayList<>();
    private final io.kdstream.ops.observe.Observability observability;
    private volatile TeacherService runningTeacher;
    private volatile MonitorApp runningMonitors;
    private volatile boolean stopRequested;
    private volatile Map<String, Object> connection = Map.of();
    private int phase;
    private long phaseStart;

    private record Named(String name, AutoCloseable resource) {
    }

    /** Thrown out of {@link #run()} when {@link #stop()} was called. */
    public static final class StoppedException extends KdException {
        private static final long serialVersionUID = 1L;

        StoppedException() {
            super("the demo was stopped");
        }
    }

    private DemoRunner(Builder b) {
        this.plan = b.plan;
        this.dataDir = b.dataDir.toAbsolutePath().normalize();
        this.reportFile = b.reportFile.toAbsolutePath().normalize();
        this.store = b.store != null ? b.store : ModelStore.openDefault();
        this.dataset = b.dataset;
        this.console = b.console;
        this.progressOut = b.progressOut;
        this.progressMode = b.progressMode;
        this.observability = b.observability;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Asks {@link #run()} to stop as soon as it can (stops the trainers after their current step). Thread-safe. */
    public void stop() {
        stopRequested = true;
        synchronized (trainers) {
            trainers.forEach(Trainer::stop);
        }
    }

    /** Runs every phase; resources stay open until {@link #close()}. */
    public DemoResult run() {
        FashionMnist.requireDataset(dataset);
        List<String> notes = new ArrayList<>();
        notes.add("The distilled student is trained by a group of " + KD_TRAINERS.size() + " trainers (group " + KD_GROUP
                + ", trainer.group.training=true): the consumer group splits the partitions between them, and every "
                + KD_SYNC_INTERVAL_STEPS + " local steps they average their parameters through the model-sync topic, so "
                + "each ends with the same model. Its learning rate is the default times the " + KD_TRAINERS.size()
                + " members (" + KD_GROUP_LEARNING_RATE + "; linear scaling: a round averages one batch per member). "
                + "The labels-only baseline (group " + BASELINE_GROUP
                + ") reads the same teacher-outputs topic whole, on its own (fan-out).");
        notes.add(String.format(Locale.ROOT, "The stream is mostly unlabelled, as a production input topic is: %.0f%% of "
                + "the training images are published with their label (a fixed subset chosen by image id and seed), the "
                + "others without one. The teacher labels every image; the distilled student learns from all of them (the "
                + "teacher's logits everywhere, the task loss on the labelled ones), the labels-only baseline from the "
                + "labelled ones alone, for the same number of epochs.", 100 * plan.labelFraction()));
        notes.add("The " + (KD_TRAINERS.size() + 1) + " trainers run at once in this process and take turns for the "
                + "forward and backward pass (DJL's PyTorch engine records gradients for one trainer per process at a "
                + "time); started as separate processes ('kdstream train') they also compute in parallel.");
        if (plan.badRecords() > 0) {
            notes.add(plan.badRecords() + " malformed inputs (undecodable bytes and wrong tensor shapes) were published "
                    + "on purpose, to show the dead-letter path.");
        }
        if (!"full".equals(plan.name())) {
            notes.add("This is the '" + plan.name() + "' plan (" + plan.trainImages() + " training images, "
                    + plan.teacherEpochs() + " teacher epoch(s)): run 'kdstream demo' without --quick for the headline numbers.");
        }

        // 1. stack
        begin("starting the local stack (Kafka KRaft broker + schema registry) in " + dataDir);
        prepareDataDir();
        LocalStack stack = LocalStack.builder().optDataDir(dataDir).optKafkaPort(0).optRegistryPort(0).build();
        open("local stack", stack);
        stack.start();
        Map<String, Object> connection = new HashMap<>();
        connection.put(KdConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
        connection.put(KdConfig.SCHEMA_REGISTRY_URL_CONFIG, stack.registryUrl());
        connection.put(KdConfig.TOPICS_PARTITIONS_CONFIG, Integer.toString(plan.partitions()));
        this.connection = Map.copyOf(connection);
        KdConfig config = new KdConfig(connection);
        Topics topics = config.topics();
        end("Kafka " + stack.bootstrapServers() + ", registry " + stack.registryUrl());

        // 2. topics
        begin("creating topics and starting the monitors");
        try (TopicAdmin admin = new TopicAdmin(KafkaClients.admin(config), Duration.ofSeconds(30), true)) {
            TopicAdmin.CreateReport created = admin.ensureTopics(TopicAdmin.catalog(config));
            end(created.created().size() + " topics, " + plan.partitions() + " partitions each");
        }
        // the monitors start early, so they are running when the first training step arrives
        Map<String, Object> monitorProps = new HashMap<>(connection);
        monitorProps.put(MonitorConfig.APPLICATION_ID_CONFIG, MONITOR_APP_ID);
        monitorProps.put(MonitorConfig.HTTP_ENABLED_CONFIG, false);
        monitorProps.put(StreamsConfig.STATE_DIR_CONFIG, dataDir.resolve("monitor-state").toString());
        monitorProps.put(MonitorConfig.LOSS_WINDOW_SIZE_MS_CONFIG, plan.lossWindow().toMillis());
        monitorProps.put(MonitorConfig.LOSS_WINDOW_ADVANCE_MS_CONFIG, plan.lossAdvance().toMillis());
        monitorProps.put(MonitorConfig.LOSS_WINDOW_GRACE_MS_CONFIG, plan.lossGrace().toMillis());
        // a trainer that finished before the others is not a stale one
        monitorProps.put(MonitorConfig.STALENESS_THRESHOLD_MS_CONFIG, Duration.ofMinutes(30).toMillis());
        MonitorConfig monitorConfig = new MonitorConfig(monitorProps);
        MonitorApp monitors = MonitorApp.start(monitorConfig);
        open("monitors", monitors);
        runningMonitors = monitors;
        if (observability != null) {
            observability.bind(monitors.streams());
        }

        // 3. ingest
        begin("publishing Fashion-MNIST to " + topics.inputs());
        FashionMnist train = FashionMnist.load(dataset, FashionMnist.Split.TRAIN);
        FashionMnist test = FashionMnist.load(dataset, FashionMnist.Split.TEST);
        IngestResult ingested = ingest(config, topics.inputs(), train);
        long published = ingested.records();
        end(String.format(Locale.ROOT, "%,d images (%,d with a label, %,d without) + %d malformed inputs", published,
                ingested.labelled(), published - ingested.labelled(), plan.badRecords()));
        checkStop();

        // 4. teacher
        TeacherCache cache = new TeacherCache(store);
        List<ModelMetadata.TrainingInfo> acceptable = new ArrayList<>();
        acceptable.add(TeacherCache.expectedTraining(plan, train.size()));
        if (!"full".equals(plan.name())) {
            acceptable.add(TeacherCache.expectedTraining(DemoPlan.full(), train.size())); // a better teacher will do
        }
        Optional<SavedModel> cached = cache.find(acceptable);
        SavedModel teacherModel;
        if (cached.isPresent()) {
            begin("reusing the cached teacher " + cached.get().dir());
            teacherModel = cached.get();
            end("trained earlier, " + teacherModel.metadata().training().map(t -> t.epochs() + " epoch(s) on " + t.dataset())
                    .orElse("") + ", sha256 " + shortSha(teacherModel.metadata().parametersSha256()));
        } else {
            begin("training the teacher (" + ModelZoo.FMNIST_CNN_TEACHER + ", " + plan.teacherEpochs() + " epoch(s) on "
                    + plan.teacherTrainImages() + " images; cached in " + store.root() + " for the next run)");
            teacherModel = trainTeacher(train, test);
            end(String.format(Locale.ROOT, "test accuracy %s, saved to %s", percent(teacherModel.metadata().testAccuracy()
                    .orElse(null)), teacherModel.dir()));
        }
        checkStop();

        // 5. serve
        begin("serving the teacher: " + topics.inputs() + " -> " + topics.teacherOutputs() + " (exactly once)");
        Teacher teacher = TeacherLoader.load(teacherModel.dir(), Device.cpu());
        open("teacher model", teacher);
        Map<String, Object> teacherProps = new HashMap<>(connection);
        teacherProps.put(TeacherConfig.DEVICE_CONFIG, "cpu");
        teacherProps.put(TeacherConfig.FEATURES_CONFIG, "none");
        teacherProps.put(TeacherConfig.TRANSACTIONAL_ID_PREFIX_CONFIG, "kdstream-demo-teacher");
        teacherProps.put(TeacherConfig.METRICS_INTERVAL_MS_CONFIG, 0L);
        TeacherService service = TeacherService.builder().setConfig(new TeacherConfig(teacherProps)).setTeacher(teacher).build();
        open("teacher-service", service);
        runningTeacher = service;
        if (observability != null) {
            new io.kdstream.ops.observe.TeacherMeters(service.metrics()).bindTo(observability.registry());
        }
        long serveStart = System.nanoTime();
        service.start();
        long expected = published + plan.badRecords();
        awaitServed(service, expected);
        double serveSeconds = (System.nanoTime() - serveStart) / 1e9;
        long served = service.metrics().snapshot().inputs();
        end(String.format(Locale.ROOT, "%,d inputs in %.1f s (%,.0f/s), %d dead-lettered", served, serveSeconds,
                served / serveSeconds, service.metrics().snapshot().deadLetterTotal()));
        checkStop();

        // 6. students
        begin("training the students on " + topics.teacherOutputs() + ": a group of " + KD_TRAINERS.size()
                + " distilling trainers and the labels-only baseline, at once");
        String stamp = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT).withZone(ZoneOffset.UTC).format(Instant.now());
        TrainerConfig baselineConfig = trainerConfig(connection, "demo-" + stamp + "-baseline", BASELINE_TRAINER,
                BASELINE_GROUP, "none");
        List<TrainerConfig> kdConfigs = new ArrayList<>();
        for (String trainerId : KD_TRAINERS) {
            kdConfigs.add(trainerConfig(connection, "demo-" + stamp + "-" + trainerId, trainerId, KD_GROUP, "stream"));
        }
        TrainerConfig kdConfig = kdConfigs.get(0);
        List<TrainerConfig> all = new ArrayList<>(kdConfigs);
        all.add(baselineConfig);
        Map<String, Trainer.Result> results = trainStudents(config, topics.metrics(), all);
        Set<String> groupShas = new java.util.HashSet<>();
        kdConfigs.forEach(c -> groupShas.add(results.get(c.runId()).modelSha256()));
        if (groupShas.size() != 1) {
            throw new KdException("the members of group " + KD_GROUP + " finished with different models " + groupShas
                    + "; group members end with the same parameters, so this is a bug");
        }
        end(results.values().stream().map(r -> String.format(Locale.ROOT, "%s: %d steps%s", r.runId(), r.steps(),
                r.accuracy() == null ? "" : ", accuracy " + percent(r.accuracy()))).reduce((a, b) -> a + "; " + b).orElse(""));

        // 7. read back
        begin("reading the results back from " + topics.metrics() + ", " + topics.eval() + ", " + topics.dlq() + ", "
                + topics.monitors() + ", " + topics.alerts() + ", " + topics.runs());
        boolean drained = awaitMonitorsCaughtUp(config, topics.metrics());
        if (!drained) {
            notes.add("The monitors had not processed every training step within " + MONITOR_DRAIN.toSeconds()
                    + " s of the end; the loss-ratio chart may miss the last windows.");
        }
        TopicReader reader = new TopicReader(config);
        List<TrainingStep> steps = reader.readAll(topics.metrics(), TrainingStep.class).records();
        List<EvalResult> evals = reader.readAll(topics.eval(), EvalResult.class).records();
        List<FailureEvent> failures = reader.readAll(topics.dlq(), FailureEvent.class).records();
        List<MonitorEvent> monitorEvents = reader.readAll(topics.monitors(), MonitorEvent.class).records();
        List<Alert> alerts = reader.readAll(topics.alerts(), Alert.class).records();
        List<RunManifest> runs = reader.readAll(topics.runs(), RunManifest.class).records();
        end(String.format(Locale.ROOT, "%,d steps, %d evaluations, %d dead letters, %d monitor windows, %d alerts, %d manifests",
                steps.size(), evals.size(), failures.size(), monitorEvents.size(), alerts.size(), runs.size()));

        // 8. report
        begin("writing the report " + reportFile);
        ModelMetadata tm = teacherModel.metadata();
        DemoResult.TeacherSummary teacherSummary = new DemoResult.TeacherSummary(tm.architecture(), tm.parametersSha256(),
                tm.testAccuracy().orElse(null), cached.isPresent(), teacherModel.dir());
        List<DemoResult.StudentSummary> students = List.of(
                student("baseline (labels only)", baselineConfig, results.get(baselineConfig.runId()), steps, evals),
                group("distilled (KD, " + KD_TRAINERS.size() + " trainers)", kdConfigs, results, steps, evals));
        Map<String, Long> dlq = new TreeMap<>();
        failures.forEach(f -> dlq.merge(f.getComponent() + " / " + f.getKind(), 1L, Long::sum));
        long firing = alerts.stream().filter(a -> a.getState() == AlertState.FIRING).count();
        if (alerts.stream().anyMatch(a -> baselineConfig.runId().equals(a.getRunId())
                && a.getType() == io.kdstream.avro.AlertType.LOSS_RATIO_BELOW_BAND)) {
            notes.add("The loss-ratio monitor also watches the labels-only baseline, whose KD loss is 0 by construction: "
                    + "its LOSS_RATIO_BELOW_BAND alert for run " + baselineConfig.runId() + " is expected.");
        }
        Map<String, String> facts = SummaryTable.facts(teacherSummary, students, failures.size(), firing, served,
                served / serveSeconds, replayCommand(kdConfig.runId()));
        Map<String, String> configTable = new LinkedHashMap<>(plan.describe());
        configTable.put("teacher.model", teacherModel.dir().toString());
        configTable.put("teacher.sha256", tm.parametersSha256());
        kdConfig.trainingSettings().forEach(configTable::put);
        configTable.put(MonitorConfig.LOSS_WINDOW_SIZE_MS_CONFIG, Long.toString(plan.lossWindow().toMillis()));
        configTable.put(MonitorConfig.LOSS_WINDOW_ADVANCE_MS_CONFIG, Long.toString(plan.lossAdvance().toMillis()));
        configTable.put(MonitorConfig.LOSS_WINDOW_GRACE_MS_CONFIG, Long.toString(plan.lossGrace().toMillis()));
        configTable.put(MonitorConfig.LOSS_RATIO_BAND_LOW_CONFIG, Double.toString(monitorConfig.thresholds().bandLow()));
        configTable.put(MonitorConfig.LOSS_RATIO_BAND_HIGH_CONFIG, Double.toString(monitorConfig.thresholds().bandHigh()));
        configTable.put("data.dir", dataDir.toString());
        PipelineData data = new PipelineData("kdstream demo (" + plan.name() + ")", Instant.now(), facts, notes,
                configTable, tm.testAccuracy().orElse(null), steps, evals, failures, monitorEvents, alerts, runs);
        writeReport(data);
        end("");
        return new DemoResult(plan, dataDir, reportFile, teacherSummary, served, served / serveSeconds, students, dlq,
                firing, phaseSeconds, notes, data, ingested.labelled());
    }

    // ------------------------------------------------------------------ phases

    private void prepareDataDir() {
        try {
            if (Files.isDirectory(dataDir)) {
                boolean empty;
                try (Stream<Path> entries = Files.list(dataDir)) {
                    empty = entries.findAny().isEmpty();
                }
                if (!empty) {
                    if (!Files.exists(dataDir.resolve(MARKER_FILE))) {
                        throw new KdException("the data directory " + dataDir + " is not empty and was not made by "
                                + "kdstream demo; give an empty or new directory with --data-dir");
                    }
                    LOGGER.info("Replacing the previous demo's data in {}", dataDir);
                    deleteContents(dataDir);
                }
            }
            Files.createDirectories(dataDir);
            Files.writeString(dataDir.resolve(MARKER_FILE), "data of 'kdstream demo'; the next demo run replaces it\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the data directory " + dataDir, e);
        }
    }

    private static void deleteContents(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                if (!p.equals(dir)) {
                    Files.delete(p);
                }
            }
        }
    }

    private IngestResult ingest(KdConfig config, String topic, FashionMnist train) {
        Map<String, Object> overrides = Map.of(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true, ProducerConfig.ACKS_CONFIG,
                "all", ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024, ProducerConfig.LINGER_MS_CONFIG, 10,
                ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        int n = Math.min(plan.trainImages(), train.size());
        try (Producer<byte[], byte[]> producer = KafkaClients.producer(config, "kdstream-demo-ingest", overrides);
             KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config.serdeProperties());
             ProgressBar bar = new ProgressBar("ingest", n, progressOut, progressMode)) {
            IngestResult result = new FashionMnistIngest(producer, serde.serializer(), topic)
                    .withLabels(new LabelSelection(plan.labelFraction(), plan.seed()))
                    .ingest(train, n, bar::step);
            publishMalformed(producer, serde, topic, train);
            return result;
        }
    }

    /** Half undecodable bytes, half records whose tensor has the wrong shape. */
    private void publishMalformed(Producer<byte[], byte[]> producer, KdAvroSerde<InputRecord> serde, String topic,
                                  FashionMnist train) {
        for (int i = 0; i < plan.badRecords(); i++) {
            String key = String.format(Locale.ROOT, "demo-malformed-%03d", i);
            byte[] value;
            if (i % 2 == 0) {
                value = ("not an Avro record #" + i).getBytes(StandardCharsets.UTF_8);
            } else {
                InputRecord good = FashionMnistIngest.toRecord(train, i, System.currentTimeMillis());
                good.setId(key);
                good.setInput(TensorCodec.fromUint8(new byte[5 * 7], 5, 7));
                value = serde.serializer().serialize(topic, good);
            }
            producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value));
        }
        producer.flush();
    }

    private SavedModel trainTeacher(FashionMnist train, FashionMnist test) {
        TeacherTrainer trainer = TeacherTrainer.builder()
                .setTrainData(train).setTestData(test)
                .optEpochs(plan.teacherEpochs()).optSeed(plan.seed())
                .optBatchSize(DemoPlan.TEACHER_BATCH_SIZE).optLearningRate(DemoPlan.TEACHER_LEARNING_RATE)
                // the demo's short teacher runs (1-3 epochs) keep the plain recipe: Adam, cosine decay without warm-up, no
                // augmentation, which is also what the teachers cached by TeacherCache were trained with
                .optAugmentation(Augmentation.NONE).optWeightDecay(0).optWarmUpEpochs(0)
                .optLimit(plan.teacherTrainImages() < train.size() ? plan.teacherTrainImages() : 0)
                .optTestLimit(plan.teacherTestImages() < test.size() ? plan.teacherTestImages() : 0)
                .optListener(new TeacherProgress())
                .build();
        try (TrainingResult result = trainer.train()) {
            return store.save(result.block(), result.metadata(), true);
        }
    }

    /** A progress bar per teacher epoch; aborts training when the demo is stopped. */
    private final class TeacherProgress implements TrainingListener {
        private ProgressBar bar;
        private long shown;

        @Override
        public void onBatch(int epoch, int epochs, long done, long total, double meanLoss) {
            if (stopRequested) {
                if (bar != null) {
                    bar.finish();
                }
                throw new StoppedException();
            }
            if (bar == null) {
                bar = new ProgressBar(String.format(Locale.ROOT, "teacher epoch %d/%d", epoch, epochs), total, progressOut,
                        progressMode);
                shown = 0;
            }
            bar.step(done - shown);
            shown = done;
        }

        @Override
        public void onEpoch(int epoch, int epochs, double trainLoss, double trainAccuracy, double testAccuracy,
                            double seconds) {
            if (bar != null) {
                bar.finish();
                bar = null;
            }
            console.printf(Locale.ROOT, "      epoch %d/%d: loss %.4f, train accuracy %.2f%%, test accuracy %.2f%%, %.1f s%n",
                    epoch, epochs, trainLoss, 100 * trainAccuracy, 100 * testAccuracy, seconds);
            console.flush();
        }
    }

    private void awaitServed(TeacherService service, long expected) {
        long lastProgress = System.nanoTime();
        long last = 0;
        try (ProgressBar bar = new ProgressBar("teacher outputs", expected, progressOut, progressMode)) {
            while (true) {
                long now = service.metrics().snapshot().inputs();
                if (now > last) {
                    bar.step(now - last);
                    last = now;
                    lastProgress = System.nanoTime();
                }
                if (now >= expected) {
                    return;
                }
                checkStop();
                if (!service.isRunning()) {
                    try {
                        service.awaitTermination();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new StoppedException();
                    }
                    throw new KdException("the teacher-service stopped after " + now + " of " + expected + " inputs");
                }
                if (System.nanoTime() - lastProgress > SERVE_STALL.toNanos()) {
                    throw new KdException("the teacher-service made no progress for " + SERVE_STALL.toMinutes()
                            + " minutes (" + now + " of " + expected + " inputs)");
                }
                sleep(200);
            }
        }
    }

    private TrainerConfig trainerConfig(Map<String, Object> connection, String runId, String trainerId, String group,
                                        String teacher) {
        Map<String, Object> props = new HashMap<>(connection);
        props.put(TrainerConfig.STUDENT_CONFIG, ModelZoo.FMNIST_MLP_STUDENT);
        props.put(TrainerConfig.TEACHER_CONFIG, teacher);
        props.put(TrainerConfig.EPOCHS_CONFIG, Integer.toString(plan.studentEpochs()));
        props.put(TrainerConfig.SEED_CONFIG, Long.toString(plan.seed()));
        props.put(TrainerConfig.BATCH_SIZE_CONFIG, Integer.toString(plan.batchSize()));
        props.put(TrainerConfig.SHUFFLE_BUFFER_CONFIG, Integer.toString(plan.batchSize() * 16));
        props.put(TrainerConfig.GROUP_CONFIG, group);
        props.put(TrainerConfig.TRAINER_ID_CONFIG, trainerId);
        props.put(TrainerConfig.RUN_ID_CONFIG, runId);
        props.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, dataDir.resolve("runs").resolve(runId).toString());
        props.put(TrainerConfig.EVAL_INTERVAL_CONFIG, Integer.toString(plan.evalIntervalSteps()));
        props.put(TrainerConfig.EVAL_DIR_CONFIG, dataset.toString());
        props.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, Integer.toString(plan.evalImages()));
        if (KD_GROUP.equals(group)) {
            props.put(TrainerConfig.GROUP_TRAINING_CONFIG, "true");
            props.put(TrainerConfig.GROUP_MIN_MEMBERS_CONFIG, Integer.toString(KD_TRAINERS.size()));
            props.put(TrainerConfig.GROUP_SYNC_INTERVAL_CONFIG, Integer.toString(KD_SYNC_INTERVAL_STEPS));
            props.put(TrainerConfig.LEARNING_RATE_CONFIG, KD_GROUP_LEARNING_RATE);
        }
        return new TrainerConfig(props);
    }

    private Map<String, Trainer.Result> trainStudents(KdConfig config, String metricsTopic, List<TrainerConfig> configs) {
        // a thread each: the members of a group must run at once (they wait for each other every round)
        ExecutorService pool = Executors.newFixedThreadPool(configs.size(), r -> {
            Thread t = new Thread(r, "kdstream-demo-trainer");
            t.setDaemon(true);
            return t;
        });
        open("trainers", () -> {
            stop();
            pool.shutdown();
            if (!pool.awaitTermination(60, TimeUnit.SECONDS)) {
                LOGGER.warn("Trainers did not stop within 60 s");
            }
        });
        Map<String, Future<Trainer.Result>> futures = new LinkedHashMap<>();
        try (Consumer<byte[], byte[]> tail = KafkaClients.consumer(config, null, Map.of());
             ProgressBar bar = new ProgressBar("student steps", plan.studentSteps() * configs.size(), progressOut,
                     progressMode)) {
            List<TopicPartition> tps = partitions(tail, metricsTopic);
            tail.assign(tps);
            tail.seekToEnd(tps);
            tps.forEach(tp -> tail.position(tp));
            for (TrainerConfig c : configs) {
                Trainer trainer = Trainer.builder().setConfig(c).build();
                synchronized (trainers) {
                    trainers.add(trainer);
                }
                if (stopRequested) {
                    trainer.stop();
                }
                futures.put(c.runId(), pool.submit(trainer::run));
            }
            io.kdstream.ops.observe.TrainingStepMeters meters = null;
            KdAvroSerde<TrainingStep> stepSerde = null;
            if (observability != null) {
                observability.bind(tail);
                meters = new io.kdstream.ops.observe.TrainingStepMeters(observability.registry());
                stepSerde = KdAvroSerdes.value(TrainingStep.class, config.serdeProperties());
            }
            try {
                boolean failed = false;
                while (futures.values().stream().anyMatch(f -> !f.isDone())) {
                    if (!failed && futures.values().stream().anyMatch(DemoRunner::failed)) {
                        // a group member that failed would leave the others waiting for its contributions
                        failed = true;
                        LOGGER.warn("A trainer failed; stopping the others");
                        synchronized (trainers) {
                            trainers.forEach(Trainer::stop);
                        }
                    }
                    var records = tail.poll(Duration.ofMillis(250));
                    if (!records.isEmpty()) {
                        bar.step(records.count());
                    }
                    if (meters != null) {
                        for (var r : records) {
                            try {
                                meters.record(stepSerde.deserializer().deserialize(r.topic(), r.value()));
                            } catch (RuntimeException e) {
                                LOGGER.debug("Step record at offset {} not decodable for metrics: {}", r.offset(), e.toString());
                            }
                        }
                    }
                }
            } finally {
                if (stepSerde != null) {
                    stepSerde.close();
                }
            }
        }
        Map<String, Trainer.Result> results = new LinkedHashMap<>();
        for (Map.Entry<String, Future<Trainer.Result>> e : futures.entrySet()) {
            try {
                results.put(e.getKey(), e.getValue().get());
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new StoppedException();
            } catch (ExecutionException ex) {
                Throwable cause = ex.getCause();
                throw cause instanceof KdException k ? k : new KdException("trainer " + e.getKey() + " failed: " + cause, cause);
            }
        }
        checkStop();
        return results;
    }

    /** Whether {@code f} has finished by throwing. */
    private static boolean failed(Future<?> f) {
        if (!f.isDone() || f.isCancelled()) {
            return false;
        }
        try {
            f.get();
            return false;
        } catch (ExecutionException e) {
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static List<TopicPartition> partitions(Consumer<byte[], byte[]> consumer, String topic) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
        if (infos == null || infos.isEmpty()) {
            throw new KdException("topic " + topic + " does not exist");
        }
        return infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
    }

    /** Waits until the monitor application has committed its position at the end of the metrics topic. */
    private boolean awaitMonitorsCaughtUp(KdConfig config, String metricsTopic) {
        long deadline = System.nanoTime() + MONITOR_DRAIN.toNanos();
        try (Admin admin = KafkaClients.admin(config);
             Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
            List<TopicPartition> tps = partitions(consumer, metricsTopic);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps, Duration.ofSeconds(30));
            while (System.nanoTime() < deadline) {
                checkStop();
                Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(MONITOR_APP_ID,
                        new ListConsumerGroupOffsetsOptions().timeoutMs(10_000)).partitionsToOffsetAndMetadata()
                        .get(15, TimeUnit.SECONDS);
                boolean done = tps.stream().allMatch(tp -> end.get(tp) == 0
                        || committed.get(tp) != null && committed.get(tp).offset() >= end.get(tp));
                if (done) {
                    return true;
                }
                sleep(500);
            }
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoppedException();
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            LOGGER.warn("Cannot read the monitor's offsets: {}", e.toString());
            return false;
        }
    }

    private DemoResult.StudentSummary student(String role, TrainerConfig c, Trainer.Result result,
                                              List<TrainingStep> steps, List<EvalResult> evals) {
        return group(role, List.of(c), Map.of(c.runId(), result), steps, evals);
    }

    /**
     * One student trained by {@code members} (one trainer, or the members of a group, which end with the same model):
     * their steps together, the latest evaluation of any of them; named by the first member's run.
     */
    private DemoResult.StudentSummary group(String role, List<TrainerConfig> members, Map<String, Trainer.Result> results,
                                            List<TrainingStep> steps, List<EvalResult> evals) {
        TrainerConfig c = members.get(0);
        Set<String> runIds = new java.util.HashSet<>();
        members.forEach(m -> runIds.add(m.runId()));
        Trainer.Result result = results.get(c.runId());
        List<TrainingStep> mine = steps.stream().filter(s -> runIds.contains(s.getRunId())).toList();
        long samples = mine.stream().mapToLong(TrainingStep::getSamples).sum();
        double perSecond = 0;
        if (mine.size() > 1) {
            long first = mine.stream().mapToLong(s -> s.getTimestampMs().toEpochMilli()).min().orElse(0);
            long last = mine.stream().mapToLong(s -> s.getTimestampMs().toEpochMilli()).max().orElse(0);
            perSecond = last > first ? samples * 1000.0 / (last - first) : 0;
        }
        Double accuracy = evals.stream().filter(e -> runIds.contains(e.getRunId()))
                .max(Comparator.comparingLong(EvalResult::getStep)).map(EvalResult::getStudentAccuracy)
                .orElse(result == null ? null : result.accuracy());
        String trainerIds = String.join(", ", members.stream().map(TrainerConfig::trainerId).toList());
        return new DemoResult.StudentSummary(role, trainerIds, c.group(), c.runId(), accuracy, perSecond, mine.size(),
                result == null ? null : result.modelSha256());
    }

    private void writeReport(PipelineData data) {
        try {
            Path parent = reportFile.getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Path tmp = reportFile.resolveSibling(reportFile.getFileName() + ".tmp");
            Files.writeString(tmp, HtmlReport.render(data), StandardCharsets.UTF_8);
            Files.move(tmp, reportFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the report " + reportFile, e);
        }
    }

    /** The commands that re-train the distilled student from its manifest on this data directory. */
    String replayCommand(String runId) {
        return "kdstream up --data-dir " + dataDir + "  # then, in another terminal: kdstream replay --run " + runId;
    }

    /** How to reach the demo's stack (bootstrap servers, registry URL) while it runs; empty before it started. */
    public Map<String, Object> connection() {
        return connection;
    }

    /** Readiness of the demo's services, for the health endpoint: down until they have started, and after they stop. */
    public List<io.kdstream.ops.observe.HealthCheck> healthChecks() {
        return List.of(
                new io.kdstream.ops.observe.HealthCheck("teacher-service", () -> {
                    TeacherService t = runningTeacher;
                    return t != null && t.isRunning();
                }),
                new io.kdstream.ops.observe.HealthCheck("monitors", () -> {
                    MonitorApp m = runningMonitors;
                    return m != null && m.streams().state().isRunningOrRebalancing();
                }));
    }

    // ------------------------------------------------------------------ helpers

    private void begin(String what) {
        checkStop();
        phase++;
        phaseStart = System.nanoTime();
        console.printf(Locale.ROOT, "[%d/%d] %s ...%n", phase, PHASES, what);
        console.flush();
        LOGGER.info("demo phase {}/{}: {}", phase, PHASES, what);
    }

    private void end(String detail) {
        double seconds = (System.nanoTime() - phaseStart) / 1e9;
        phaseSeconds.put(phaseName(phase), seconds);
        console.printf(Locale.ROOT, "      done in %.1f s%s%n", seconds, detail.isEmpty() ? "" : ": " + detail);
        console.flush();
    }

    private static String phaseName(int phase) {
        return switch (phase) {
            case 1 -> "stack";
            case 2 -> "topics";
            case 3 -> "ingest";
            case 4 -> "teacher";
            case 5 -> "serve";
            case 6 -> "students";
            case 7 -> "read back";
            case 8 -> "report";
            default -> "phase " + phase;
        };
    }

    private void checkStop() {
        if (stopRequested) {
            throw new StoppedException();
        }
    }

    private void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoppedException();
        }
    }

    private void open(String name, AutoCloseable resource) {
        synchronized (resources) {
            resources.push(new Named(name, resource));
        }
    }

    static String percent(Double accuracy) {
        return accuracy == null ? "n/a" : String.format(Locale.ROOT, "%.2f%%", 100 * accuracy);
    }

    static String shortSha(String sha) {
        return sha == null ? "n/a" : sha.length() > 12 ? sha.substring(0, 12) : sha;
    }

    /** Stops what is running in the reverse order it was started: trainers, monitors, teacher-service, model, stack. */
    @Override
    public void close() {
        stopRequested = true;
        while (true) {
            Named next;
            synchronized (resources) {
                next = resources.poll();
            }
            if (next == null) {
                return;
            }
            try {
                LOGGER.info("Stopping {}", next.name());
                next.resource().close();
            } catch (Exception e) {
                LOGGER.warn("Error while stopping {}: {}", next.name(), e.toString());
            }
        }
    }

    /** Builds a {@link DemoRunner}: the plan, data directory and report file are required. */
    public static final class Builder {
        private DemoPlan plan;
        private Path dataDir;
        private Path reportFile;
        private ModelStore store;
        private Path dataset = FashionMnist.DEFAULT_DIR;
        private PrintWriter console = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
        private PrintStream progressOut = System.err;
        private ProgressBar.Mode progressMode = ProgressBar.Mode.auto();
        private io.kdstream.ops.observe.Observability observability;

        private Builder() {
        }

        /** Metrics registry to bind the teacher, monitor, trainer-step and Kafka client meters to. */
        public Builder optObservability(io.kdstream.ops.observe.Observability o) {
            this.observability = o;
            return this;
        }

        public Builder setPlan(DemoPlan p) {
            this.plan = p;
            return this;
        }

        /** Directory of the stack's data: created, or replaced when a previous demo made it; kept afterwards. */
        public Builder setDataDir(Path dir) {
            this.dataDir = dir;
            return this;
        }

        public Builder setReportFile(Path file) {
            this.reportFile = file;
            return this;
        }

        /** Model store for the cached teacher (default {@code ${KDSTREAM_HOME:-~/.kdstream}/models}). */
        public Builder optModelStore(ModelStore s) {
            this.store = s;
            return this;
        }

        /** Directory of the Fashion-MNIST IDX files. */
        public Builder optDataset(Path dir) {
            this.dataset = Objects.requireNonNull(dir, "dataset");
            return this;
        }

        /** Where phase lines go (stdout by default). */
        public Builder optConsole(PrintWriter w) {
            this.console = Objects.requireNonNull(w, "console");
            return this;
        }

        /** Where progress bars go, and how they look (stderr, auto by default). */
        public Builder optProgress(PrintStream out, ProgressBar.Mode mode) {
            this.progressOut = Objects.requireNonNull(out, "out");
            this.progressMode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        public DemoRunner build() {
            Objects.requireNonNull(plan, "setPlan is required");
            Objects.requireNonNull(dataDir, "setDataDir is required");
            Objects.requireNonNull(reportFile, "setReportFile is required");
            return new DemoRunner(this);
        }
    }
}
