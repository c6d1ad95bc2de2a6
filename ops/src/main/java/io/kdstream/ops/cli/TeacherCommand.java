package io.kdstream.ops.cli;

import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.model.ModelStore;
import io.kdstream.core.model.SavedModel;
import io.kdstream.ops.observe.HealthCheck;
import io.kdstream.ops.observe.Observability;
import io.kdstream.ops.observe.ObservabilityConfig;
import io.kdstream.ops.observe.ObservabilityServer;
import io.kdstream.ops.observe.TeacherMeters;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.TeacherLoader;
import io.kdstream.teacher.bench.TeacherBenchmark;
import io.kdstream.teacher.serve.TeacherConfig;
import io.kdstream.teacher.serve.TeacherService;
import io.kdstream.teacher.train.Augmentation;
import io.kdstream.teacher.train.TeacherTrainer;
import io.kdstream.teacher.train.TrainingListener;
import io.kdstream.teacher.train.TrainingResult;
import io.kdstream.teacher.validate.TeacherValidator;
import io.kdstream.teacher.validate.ValidationResult;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code kdstream teacher ...}: train, validate and serve the teacher. The work itself lives in teacher-service. */
@Command(name = "teacher", description = "Train, validate and serve the teacher model.",
        mixinStandardHelpOptions = true,
        subcommands = {TeacherCommand.Train.class, TeacherCommand.Validate.class, TeacherCommand.Serve.class,
                TeacherCommand.Bench.class})
public final class TeacherCommand {

    /** Exit code of a model that fails validation. */
    public static final int EXIT_BELOW_FLOOR = 3;

    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "Train the Fashion-MNIST teacher CNN on CPU and save it to the model store.")
    static final class Train implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--epochs", defaultValue = "" + TeacherTrainer.DEFAULT_EPOCHS, description = "Training epochs (default: ${DEFAULT-VALUE}).")
        int epochs;

        @Option(names = "--seed", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--batch-size", defaultValue = "128", description = "Mini-batch size (default: ${DEFAULT-VALUE}).")
        int batchSize;

        @Option(names = "--lr", defaultValue = "0.001",
                description = "Peak learning rate: warm-up from a tenth of it, then cosine decay to 1%% (default: ${DEFAULT-VALUE}).")
        float learningRate;

        @Option(names = "--weight-decay", defaultValue = "" + TeacherTrainer.DEFAULT_WEIGHT_DECAY,
                description = "AdamW decoupled weight decay; 0 = plain Adam (default: ${DEFAULT-VALUE}).")
        float weightDecay;

        @Option(names = "--warm-up", defaultValue = "" + TeacherTrainer.DEFAULT_WARM_UP_EPOCHS,
                description = "Epochs of linear learning-rate warm-up (default: ${DEFAULT-VALUE}).")
        int warmUpEpochs;

        @Option(names = "--shift", defaultValue = "" + TeacherTrainer.DEFAULT_SHIFT,
                description = "Augmentation: random shift of up to N pixels (pad and crop); 0 = none (default: ${DEFAULT-VALUE}).")
        int shift;

        @Option(names = "--flip", defaultValue = "" + TeacherTrainer.DEFAULT_FLIP, negatable = true,
                description = "Augmentation: random horizontal flips; --no-flip for none (default: ${DEFAULT-VALUE}).")
        boolean flip;

        @Option(names = "--validation", defaultValue = "0",
                description = "Hold out the last N training images and report accuracy on them instead of the test split, "
                        + "for choosing a recipe; 0 = train on all (default: ${DEFAULT-VALUE}).")
        int validation;

        @Option(names = "--threads", defaultValue = "0",
                description = "Intra-op threads for training; 0 = all cores (default: ${DEFAULT-VALUE}).")
        int threads;

        @Option(names = "--limit", defaultValue = "0",
                description = "Train on only the first N training images; 0 = all (default: ${DEFAULT-VALUE}).")
        int limit;

        @Option(names = "--test-limit", defaultValue = "0",
                description = "Score each epoch on only the first N test images (a quick check); 0 = all "
                        + "(default: ${DEFAULT-VALUE}).")
        int testLimit;

        @Option(names = "--data", description = "Directory with the Fashion-MNIST IDX files (default: ${DEFAULT-VALUE}).")
        Path data = FashionMnist.DEFAULT_DIR;

        @Option(names = "--out", description = "Model directory to write (default: a new directory in the model store). "
                + "Either way the store's 'latest' then points at it.")
        Path out;

        @Option(names = "--store", description = "Model store directory (default: ${KDSTREAM_HOME:-~/.kdstream}/models).")
        Path store;

        @Override
        public Integer call() {
            PrintWriter console = spec.commandLine().getOut();
            FashionMnist train = FashionMnist.load(data, FashionMnist.Split.TRAIN);
            FashionMnist test = FashionMnist.load(data, FashionMnist.Split.TEST);
            ModelStore modelStore = store == null ? ModelStore.openDefault() : ModelStore.open(store);
            TeacherTrainer trainer = TeacherTrainer.builder()
                    .setTrainData(train)
                    .setTestData(test)
                    .optEpochs(epochs)
                    .optSeed(seed)
                    .optBatchSize(batchSize)
                    .optLearningRate(learningRate)
                    .optThreads(threads)
                    .optLimit(limit)
                    .optTestLimit(testLimit)
                    .optWeightDecay(weightDecay)
                    .optWarmUpEpochs(warmUpEpochs)
                    .optAugmentation(new Augmentation(shift, flip))
                    .optValidation(validation)
                    .optListener(new EpochProgress(console, validation > 0 ? "val acc" : "test acc"))
                    .build();
            try (TrainingResult result = trainer.train()) {
                SavedModel saved;
                if (out == null) {
                    saved = modelStore.save(result.block(), result.metadata(), true);
                } else {
                    saved = ModelStore.saveTo(out, result.block(), result.metadata());
                    modelStore.setLatest(saved.dir());
                }
                console.printf(Locale.ROOT, "Saved %s %s to %s%n  %s %.2f%%, %d epochs in %.1f s, sha256 %s%n",
                        saved.metadata().architecture(), saved.metadata().version(), saved.dir(),
                        validation > 0 ? "validation accuracy" : "test accuracy", 100 * result.testAccuracy(), result.epochs().size(), result.seconds(),
                        saved.metadata().parametersSha256());
                console.flush();
            }
            return 0;
        }
    }

    @Command(name = "validate", mixinStandardHelpOptions = true,
            description = "Measure a teacher's accuracy on the Fashion-MNIST test split; fail below a floor.")
    static final class Validate implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--model", description = "Model directory or TorchScript .pt file (default: the store's latest); "
                + "repeat it to score an ensemble (the mean of the models' logits).")
        List<String> model = new ArrayList<>();

        @Option(names = "--min-accuracy", defaultValue = "0.90",
                description = "Accuracy floor in [0,1]; a model below it is refused (default: ${DEFAULT-VALUE}).")
        double minAccuracy;

        @Option(names = "--data", description = "Directory with the Fashion-MNIST IDX files (default: ${DEFAULT-VALUE}).")
        Path data = FashionMnist.DEFAULT_DIR;

        @Option(names = "--store", description = "Model store directory (default: ${KDSTREAM_HOME:-~/.kdstream}/models).")
        Path store;

        @Option(names = "--device", defaultValue = "cpu", description = "auto | cpu | gpu:N (default: ${DEFAULT-VALUE}).")
        String device;

        @Option(names = "--limit", defaultValue = "0",
                description = "Score only the first N test images (a quick check); 0 = all 10,000 "
                        + "(default: ${DEFAULT-VALUE}).")
        int limit;

        @Override
        public Integer call() {
            PrintWriter console = spec.commandLine().getOut();
            ModelStore modelStore = store == null ? ModelStore.openDefault() : ModelStore.open(store);
            FashionMnist test = FashionMnist.load(data, FashionMnist.Split.TEST);
            if (limit < 0) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--limit must be >= 0 (0 = all test images), got " + limit);
            }
            try (Teacher teacher = TeacherLoader.load(model, modelStore, device)) {
                ValidationResult result = TeacherValidator.validate(teacher, test, minAccuracy, limit);
                console.printf(Locale.ROOT, "%s %s: test accuracy %.2f%% on %d images (floor %.2f%%)%n",
                        teacher.info().name(), teacher.info().version(), 100 * result.accuracy(), result.examples(),
                        100 * minAccuracy);
                console.flush();
                if (!result.passed()) {
                    spec.commandLine().getErr().printf(Locale.ROOT,
                            "Refused: accuracy %.2f%% is below the floor %.2f%% (--min-accuracy); "
                                    + "do not distil students from this teacher.%n",
                            100 * result.accuracy(), 100 * minAccuracy);
                    spec.commandLine().getErr().flush();
                    return EXIT_BELOW_FLOOR;
                }
                return 0;
            }
        }
    }

    @Command(name = "serve", mixinStandardHelpOptions = true,
            description = {"Serve the teacher: consume InputRecords from the inputs topic (a consumer group), run "
                    + "batched inference and publish one TeacherOutput per input exactly once (Kafka transactions); bad "
                    + "inputs become FailureEvents on the dead-letter topic. Runs until SIGTERM or Ctrl-C, then finishes "
                    + "the open transaction and exits.",
                    "Settings: any teacher.* key (see docs/teacher.md) with -D/--set, in --config, or as KDSTREAM_* "
                            + "environment variables."})
    static final class Serve implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ConnectionOptions connection;

        @Option(names = "--model", description = "Model directory, TorchScript .pt file or model name in the store "
                + "(default: teacher.model, else the model 'teacher train' saved last); repeat it to serve an ensemble: "
                + "the mean of the models' logits and the first one's feature maps.")
        List<String> model = new ArrayList<>();

        @Option(names = "--store", description = "Model store directory (default: ${KDSTREAM_HOME:-~/.kdstream}/models).")
        Path store;

        @Option(names = "--device", description = "auto | cpu | gpu:N (default: teacher.device, auto).")
        String device;

        @Option(names = "--workers", description = "Worker threads (default: teacher.workers, 1).")
        Integer workers;

        @Option(names = {"-D", "--set"}, paramLabel = "KEY=VALUE", description = "Any setting, e.g. -D teacher.batch.max.size=128.")
        Map<String, String> settings = new HashMap<>();

        @Mixin
        MetricsOptions metrics;

        @Override
        public Integer call() throws InterruptedException {
            PrintWriter console = spec.commandLine().getOut();
            TeacherConfig config = teacherConfig(connection, settings, device, workers);
            Map<String, Object> base = new HashMap<>(connection.properties());
            base.putAll(settings);
            ObservabilityConfig metricsConfig = metrics.config(base);
            ModelStore modelStore = store == null ? ModelStore.openDefault() : ModelStore.open(store);
            List<String> modelSpec = !model.isEmpty() ? model : config.models();
            try (Observability observability = Observability.forService(TeacherService.COMPONENT);
                 Teacher teacher = TeacherLoader.load(modelSpec, modelStore, config.device());
                 TeacherService service = TeacherService.builder().setConfig(config).setTeacher(teacher)
                         .optClientsListener((consumer, producer) -> observability.bind(consumer).bind(producer)).build()) {
                new TeacherMeters(service.metrics()).bindTo(observability.registry());
                Thread hook = new Thread(service::close, "kdstream-teacher-shutdown");
                Runtime.getRuntime().addShutdownHook(hook);
                service.start();
                console.printf(Locale.ROOT, "Serving %s %s (sha256 %s) on %s: %s -> %s, dead letters to %s. Stop with "
                                + "Ctrl-C or SIGTERM.%n", teacher.info().name(), teacher.info().version(),
                        teacher.info().sha256(), teacher.device(), config.topics().inputs(), config.topics().teacherOutputs(),
                        config.topics().dlq());
                console.flush();
                HealthCheck workersRunning = new HealthCheck("workers", service::isRunning);
                ObservabilityServer server = MetricsOptions.start(metricsConfig, observability,
                        List.of(workersRunning), List.of(workersRunning), console);
                try {
                    service.awaitTermination();
                } finally {
                    MetricsOptions.stop(server);
                }
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // the JVM is already running the hook
                }
            }
            return 0;
        }
    }

    @Command(name = "bench", mixinStandardHelpOptions = true,
            description = "Measure teacher-service throughput through Kafka against raw batched DJL inference of the "
                    + "same model in this process on the same images, and print the ratio. Needs a broker "
                    + "(e.g. 'kdstream up'); creates fresh bench-* topics.")
    static final class Bench implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ConnectionOptions connection;

        @Option(names = "--model", description = "Model directory or .pt file (default: the store's latest); repeat it for "
                + "an ensemble.")
        List<String> model = new ArrayList<>();

        @Option(names = "--store", description = "Model store directory (default: ${KDSTREAM_HOME:-~/.kdstream}/models).")
        Path store;

        @Option(names = "--records", defaultValue = "10000", description = "Images per run (default: ${DEFAULT-VALUE}).")
        int records;

        @Option(names = "--batch-size", defaultValue = "64", description = "Inference batch size (default: ${DEFAULT-VALUE}).")
        int batchSize;

        @Option(names = "--workers", defaultValue = "1", description = "Service worker threads (default: ${DEFAULT-VALUE}).")
        int workers;

        @Option(names = "--partitions", defaultValue = "4", description = "Partitions of the bench topics (default: ${DEFAULT-VALUE}).")
        int partitions;

        @Option(names = "--device", defaultValue = "cpu", description = "auto | cpu | gpu:N (default: ${DEFAULT-VALUE}).")
        String device;

        @Option(names = "--data", description = "Directory with the Fashion-MNIST IDX files (default: ${DEFAULT-VALUE}).")
        Path data = FashionMnist.DEFAULT_DIR;

        @Option(names = {"-D", "--set"}, paramLabel = "KEY=VALUE", description = "Any teacher.* setting for the Kafka run.")
        Map<String, String> settings = new HashMap<>();

        @Override
        public Integer call() throws InterruptedException {
            PrintWriter console = spec.commandLine().getOut();
            Map<String, Object> props = new HashMap<>(connection.properties());
            props.putAll(settings);
            props.put(TeacherConfig.BATCH_MAX_SIZE_CONFIG, batchSize);
            props.put(TeacherConfig.WORKERS_CONFIG, workers);
            props.put(TeacherConfig.DEVICE_CONFIG, device);
            ModelStore modelStore = store == null ? ModelStore.openDefault() : ModelStore.open(store);
            FashionMnist test = FashionMnist.load(data, FashionMnist.Split.TEST);
            try (Teacher teacher = TeacherLoader.load(model, modelStore, device)) {
                console.printf(Locale.ROOT, "Benchmarking %s %s on %s with %d images%n", teacher.info().name(),
                        teacher.info().version(), teacher.device(), records);
                console.flush();
                // raw runs before and after the Kafka run, so a change in machine load hits both sides alike
                TeacherBenchmark.Run before = TeacherBenchmark.raw(teacher, test, records, batchSize, 5);
                console.printf(Locale.ROOT, "raw batched DJL inference (before): %.0f records/s%n", before.recordsPerSecond());
                console.flush();
                TeacherBenchmark.Run kafka = TeacherBenchmark.kafka(props, teacher, test, records, partitions);
                console.printf(Locale.ROOT, "through Kafka: %.0f records/s%n", kafka.recordsPerSecond());
                console.flush();
                TeacherBenchmark.Run after = TeacherBenchmark.raw(teacher, test, records, batchSize, 0);
                console.printf(Locale.ROOT, "raw batched DJL inference (after): %.0f records/s%n", after.recordsPerSecond());
                TeacherBenchmark.Run raw = new TeacherBenchmark.Run(before.records() + after.records(),
                        before.seconds() + after.seconds());
                TeacherBenchmark.Result result = new TeacherBenchmark.Result(raw, kafka, batchSize, workers);
                console.println(result.summary());
                console.flush();
            }
            return 0;
        }
    }

    static TeacherConfig teacherConfig(ConnectionOptions connection, Map<String, String> settings, String device,
            Integer workers) {
        Map<String, Object> props = new HashMap<>(connection.properties());
        props.putAll(settings);
        if (device != null) {
            props.put(TeacherConfig.DEVICE_CONFIG, device);
        }
        if (workers != null) {
            props.put(TeacherConfig.WORKERS_CONFIG, workers);
        }
        return new TeacherConfig(props);
    }

    /** Shows each epoch as a progress bar on stderr (the shared {@link ProgressBar}) and one result line on stdout. */
    static final class EpochProgress implements TrainingListener {
        private final PrintWriter console;
        private final String accuracyLabel;
        private final EpochBars bars = new EpochBars("epoch %d/%d", System.err, ProgressBar.Mode.auto());

        EpochProgress(PrintWriter console, String accuracyLabel) {
            this.console = console;
            this.accuracyLabel = accuracyLabel;
        }

        @Override
        public void onBatch(int epoch, int epochs, long done, long total, double meanLoss) {
            bars.batch(epoch, epochs, done, total);
        }

        @Override
        public void onEpoch(int epoch, int epochs, double trainLoss, double trainAccuracy, double testAccuracy,
                double seconds) {
            bars.finish();
            console.printf(Locale.ROOT, "epoch %d/%d  loss %.4f  train acc %.2f%%  %s %.2f%%  %.1f s%n",
                    epoch, epochs, trainLoss, 100 * trainAccuracy, accuracyLabel, 100 * testAccuracy, seconds);
            console.flush();
        }
    }
}
