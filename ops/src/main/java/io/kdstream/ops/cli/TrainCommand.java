package io.kdstream.ops.cli;

import io.kdstream.ops.observe.HealthCheck;
import io.kdstream.ops.observe.Observability;
import io.kdstream.ops.observe.ObservabilityConfig;
import io.kdstream.ops.observe.ObservabilityServer;
import io.kdstream.ops.observe.TrainingStepMeters;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.MemoryBenchmark;
import io.kdstream.trainer.TrainerBenchmark;
import io.kdstream.trainer.TrainerConfig;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/** {@code kdstream train}: distil a student from the teacher-outputs topic (the work lives in student-trainer). */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a student on the teacher outputs: a bounded run over the offsets present at the start, or "
                + "with --follow an online run until stopped. Ends by printing 'run-id: <id>' and 'model-sha256: <hex>'. "
                + "Started again on the same --checkpoint-dir, it resumes from the last checkpoint. The intra-op thread count "
                + "is pinned (to the processor count unless -Dai.djl.pytorch.num_threads is set) and recorded in the "
                + "manifest; replay with the same count, e.g. KDSTREAM_OPTS=-Dai.djl.pytorch.num_threads=1 for both.",
        subcommands = {TrainCommand.Benchmark.class})
public final class TrainCommand implements Callable<Integer> {

    /** Exit code of a run stopped before it finished (it can be resumed). */
    public static final int EXIT_STOPPED = 130;

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connection;

    @Mixin
    TrainingOptions training;

    /** Options shared by {@code train} and {@code train benchmark}. */
    static final class TrainingOptions {
        @Option(names = "--student", description = "Student: a zoo name (fmnist-mlp-student, fmnist-tinycnn-student) or a spec built for "
                + "the stream's input shape and class count, e.g. mlp:512,256 or cnn:32,64:dense128 (docs/byo.md).")
        String student;

        @Option(names = "--student-model", paramLabel = "FILE.pt", description = "Train a TorchScript module instead of "
                + "a zoo student (trainer.student.model); its metadata is the .json file of the same name. The trained "
                + "student is also written as TorchScript: student.pt in the model directory.")
        String studentModel;

        @Option(names = "--teacher", description = "'stream' to distil from the teacher outputs, 'none' for labels only, "
                + "'ema' for a mean teacher (EMA of the student; reads the inputs topic, no teacher-service), 'stream+ema' "
                + "for both.")
        String teacher;

        @Option(names = "--epochs", description = "Passes over the snapshotted offset range.")
        Integer epochs;

        @Option(names = "--seed", description = "Seed of initialisation and shuffling.")
        Long seed;

        @Option(names = "--group", description = "Consumer group id of the trainer.")
        String group;

        @Option(names = "--checkpoint-dir", description = "Run directory: checkpoint, final model and manifest.")
        String checkpointDir;

        @Option(names = "--follow", description = "Online run: keep training on new teacher outputs until stopped "
                + "(Ctrl-C), keeping a per-step ledger for replay.")
        boolean follow;

        @Option(names = {"-s", "--set"}, paramLabel = "KEY=VALUE",
                description = "Any trainer.* or kd.* setting, e.g. -s kd.temperature=linear:1:4:1000 (repeatable).")
        Map<String, String> settings = new LinkedHashMap<>();

        Map<String, Object> apply(Map<String, String> base) {
            Map<String, Object> props = new HashMap<>(base);
            props.putAll(settings);
            put(props, TrainerConfig.STUDENT_CONFIG, student);
            put(props, TrainerConfig.STUDENT_MODEL_CONFIG, studentModel);
            put(props, TrainerConfig.TEACHER_CONFIG, teacher);
            put(props, TrainerConfig.EPOCHS_CONFIG, epochs);
            put(props, TrainerConfig.SEED_CONFIG, seed);
            put(props, TrainerConfig.GROUP_CONFIG, group);
            put(props, TrainerConfig.CHECKPOINT_DIR_CONFIG, checkpointDir);
            if (follow) {
                props.put(TrainerConfig.FOLLOW_CONFIG, "true");
            }
            return props;
        }

        private static void put(Map<String, Object> props, String key, Object value) {
            if (value != null) {
                props.put(key, value.toString());
            }
        }
    }

    @Mixin
    MetricsOptions metrics;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        Map<String, Object> props = withTrainerId(training.apply(connection.properties()), hostName());
        TrainerConfig config = new TrainerConfig(props);
        ObservabilityConfig metricsConfig = metrics.config(props);
        try (Observability observability = Observability.forService(Trainer.COMPONENT);
             TrainingStepMeters meters = new TrainingStepMeters(observability.registry())) {
            Trainer trainer = Trainer.builder().setConfig(config).optStepListener(meters::record).build();
            AtomicBoolean running = new AtomicBoolean(true);
            ObservabilityServer server = MetricsOptions.start(metricsConfig, observability,
                    List.of(new HealthCheck("training", running::get)), List.of(), out);
            try {
                return run(out, config, trainer);
            } finally {
                running.set(false);
                MetricsOptions.stop(server);
            }
        }
    }

    /** {@code trainer.id} defaults to the host name (a container's or pod's name), so replicas report apart. */
    static Map<String, Object> withTrainerId(Map<String, Object> props, String hostName) {
        if (!props.containsKey(TrainerConfig.TRAINER_ID_CONFIG) && hostName != null && !hostName.isBlank()) {
            props.put(TrainerConfig.TRAINER_ID_CONFIG, hostName);
        }
        return props;
    }

    /** This machine's (container's, pod's) host name, or null when it cannot be told. */
    static String hostName() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) {
            return env.trim();
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return null;
        }
    }

    private static int run(PrintWriter out, TrainerConfig config, Trainer trainer) throws InterruptedException {
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            trainer.stop();
            try {
                finished.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "kdstream-train-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        Trainer.Result result;
        try {
            result = trainer.run();
        } finally {
            finished.countDown();
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running: the run was stopped
        }
        out.printf(Locale.ROOT, "steps: %d, samples: %d, failed steps: %d, dead letters: %d%s%n", result.steps(),
                result.samples(), result.failedSteps(), result.deadLetters(),
                result.accuracy() == null ? "" : String.format(Locale.ROOT, ", test accuracy: %.4f", result.accuracy()));
        if (result.skippedUnlabelled() > 0) {
            out.printf(Locale.ROOT, "unlabelled records passed over: %d (a labels-only run trains on labelled records only)%n",
                    result.skippedUnlabelled());
        }
        out.println("run-id: " + result.runId());
        if (!result.completed()) {
            // a bounded run stopped early: its checkpoint resumes it
            out.println("stopped before the end; run the same command again to resume from the checkpoint in "
                    + config.checkpointDir());
            out.flush();
            return EXIT_STOPPED;
        }
        out.println("model: " + result.modelDir());
        out.println("model-sha256: " + result.modelSha256());
        java.nio.file.Path torchScript = result.modelDir().resolve(io.kdstream.trainer.student.TorchScriptStudent.EXPORT_FILE);
        if (java.nio.file.Files.isRegularFile(torchScript)) {
            out.println("torchscript: " + torchScript);
        }
        Trainer.emaModel(result).ifPresent(ema -> {
            out.println("ema-model: " + ema.dir());
            out.println("ema-model-sha256: " + ema.metadata().parametersSha256());
        });
        out.flush();
        return 0;
    }

    @Command(name = "benchmark", mixinStandardHelpOptions = true,
            description = "Samples/s of the training loop fed from Kafka against the identical loop fed from memory with "
                    + "the same batches, and a per-step time breakdown. Uses a fresh run directory each time. With "
                    + "--memory-only: no broker; times the training step alone over batches cut from the Fashion-MNIST "
                    + "training images, with seeded synthetic teacher logits or those of --teacher-logits.")
    static final class Benchmark implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ConnectionOptions connection;

        @Mixin
        TrainingOptions training;

        @Option(names = "--steps", defaultValue = "300", description = "Steps per measured loop (default: ${DEFAULT-VALUE}).")
        long steps;

        @Option(names = "--memory-only", description = "Time the training step over in-memory batches only, without "
                + "a broker (the figure to compare with a plain training loop).")
        boolean memoryOnly;

        @Option(names = "--data", paramLabel = "DIR", description = "With --memory-only: directory of the Fashion-MNIST "
                + "IDX files (default: /usr/share/datasets/fashion-mnist).")
        Path data;

        @Option(names = "--records", description = "With --memory-only: training images the batches are cut from, in "
                + "file order (default: 10000).")
        Integer records;

        @Option(names = "--warmup", description = "With --memory-only: untimed steps first (default: 50).")
        Integer warmup;

        @Option(names = "--teacher-logits", paramLabel = "FILE", description = "With --memory-only: teacher logits, "
                + "records x 10 little-endian float32 in image order (ops/bench/torch_kd_loop.py --write-logits writes "
                + "one), instead of seeded synthetic ones.")
        Path teacherLogits;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            Map<String, Object> props = training.apply(connection.properties());
            if (memoryOnly) {
                MemoryBenchmark.Settings settings = new MemoryBenchmark.Settings(steps, warmup == null ? 50 : warmup,
                        records == null ? 10_000 : records, data == null ? FashionMnist.DEFAULT_DIR : data, teacherLogits);
                out.println(MemoryBenchmark.run(props, settings).format());
                out.flush();
                return 0;
            }
            if (data != null || records != null || warmup != null || teacherLogits != null) {
                throw new ParameterException(spec.commandLine(),
                        "--data, --records, --warmup and --teacher-logits apply to --memory-only only");
            }
            TrainerBenchmark.Report report = TrainerBenchmark.run(props, steps);
            out.println(report.format());
            out.flush();
            return 0;
        }
    }
}
