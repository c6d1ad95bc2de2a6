package io.kdstream.ops.cli;

import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.model.ModelStore;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.TeacherLoader;
import io.kdstream.teacher.train.TeacherTrainer;
import io.kdstream.teacher.train.TrainingListener;
import io.kdstream.teacher.train.TrainingResult;
import io.kdstream.teacher.validate.TeacherValidator;
import io.kdstream.teacher.validate.ValidationResult;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code kdstream teacher ...}: train, validate and serve the teacher. The work itself lives in teacher-service. */
@Command(name = "teacher", description = "Train, validate and serve the teacher model.",
        mixinStandardHelpOptions = true,
        subcommands = {TeacherCommand.Train.class, TeacherCommand.Validate.class})
public final class TeacherCommand {

    /** Exit code of a model that fails validation. */
    public static final int EXIT_BELOW_FLOOR = 3;

    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "Train the Fashion-MNIST teacher CNN on CPU and save it to the model store.")
    static final class Train implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--epochs", defaultValue = "8", description = "Training epochs (default: ${DEFAULT-VALUE}).")
        int epochs;

        @Option(names = "--seed", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--batch-size", defaultValue = "128", description = "Mini-batch size (default: ${DEFAULT-VALUE}).")
        int batchSize;

        @Option(names = "--lr", defaultValue = "0.001", description = "Adam learning rate (default: ${DEFAULT-VALUE}).")
        float learningRate;

        @Option(names = "--threads", defaultValue = "0",
                description = "Intra-op threads for training; 0 = all cores (default: ${DEFAULT-VALUE}).")
        int threads;

        @Option(names = "--limit", defaultValue = "0",
                description = "Train on only the first N training images; 0 = all (default: ${DEFAULT-VALUE}).")
        int limit;

        @Option(names = "--data", description = "Directory with the Fashion-MNIST IDX files (default: ${DEFAULT-VALUE}).")
        Path data = FashionMnist.DEFAULT_DIR;

        @Option(names = "--out", description = "Model directory to write (default: a new directory in the model store, "
                + "which then becomes its 'latest').")
        Path out;

        @Option(names = "--store", description = "Model store directory (default: ${KDSTREAM_HOME:-~/.kdstream}/models).")
        Path store;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
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
                    .optListener(new ProgressBar(out))
                    .build();
            TrainingResult result = trainer.train();
            Path dir = out == null ? modelStore.save(result.model(), true) : modelStore.saveTo(out, result.model());
            out.printf(Locale.ROOT, "Saved %s to %s (test accuracy %.2f%%, %d epochs in %.1f s, sha256 %s)%n",
                    result.model().metadata().architecture(), dir, 100 * result.testAccuracy(), result.epochs(),
                    result.seconds(), result.model().metadata().parametersSha256());
            out.flush();
            return 0;
        }
    }

    @Command(name = "validate", mixinStandardHelpOptions = true,
            description = "Measure a teacher's accuracy on the Fashion-MNIST test split; fail below a floor.")
    static final class Validate implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--model", description = "Model directory or TorchScript .pt file (default: the store's latest).")
        String model;

        @Option(names = "--min-accuracy", defaultValue = "0.90",
                description = "Accuracy floor in [0,1]; a model below it is refused (default: ${DEFAULT-VALUE}).")
        double minAccuracy;

        @Option(names = "--data", description = "Directory with the Fashion-MNIST IDX files (default: ${DEFAULT-VALUE}).")
        Path data = FashionMnist.DEFAULT_DIR;

        @Option(names = "--store", description = "Model store directory (default: ${KDSTREAM_HOME:-~/.kdstream}/models).")
        Path store;

        @Option(names = "--device", defaultValue = "cpu", description = "auto | cpu | gpu:N (default: ${DEFAULT-VALUE}).")
        String device;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            ModelStore modelStore = store == null ? ModelStore.openDefault() : ModelStore.open(store);
            FashionMnist test = FashionMnist.load(data, FashionMnist.Split.TEST);
            try (Teacher teacher = TeacherLoader.load(model, modelStore, device)) {
                ValidationResult result = TeacherValidator.validate(teacher, test, minAccuracy);
                out.printf(Locale.ROOT, "%s %s: test accuracy %.2f%% on %d images (floor %.2f%%)%n",
                        teacher.info().name(), teacher.info().version(), 100 * result.accuracy(), result.examples(),
                        100 * minAccuracy);
                out.flush();
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

    /** A one-line progress bar redrawn with carriage returns, plus one line per epoch. */
    static final class ProgressBar implements TrainingListener {
        private static final int WIDTH = 30;
        private final PrintWriter out;
        private int lastDrawn = -1;

        ProgressBar(PrintWriter out) {
            this.out = out;
        }

        @Override
        public void onBatch(int epoch, int epochs, long done, long total, double meanLoss) {
            int filled = (int) (WIDTH * done / Math.max(1, total));
            int percent = (int) (100 * done / Math.max(1, total));
            if (percent == lastDrawn && done != total) {
                return;
            }
            lastDrawn = percent;
            out.printf(Locale.ROOT, "\repoch %d/%d [%s%s] %3d%% loss %.4f", epoch, epochs,
                    "=".repeat(filled), " ".repeat(WIDTH - filled), percent, meanLoss);
            out.flush();
        }

        @Override
        public void onEpoch(int epoch, int epochs, double trainLoss, double trainAccuracy, double testAccuracy,
                double seconds) {
            lastDrawn = -1;
            out.printf(Locale.ROOT, "\repoch %d/%d  loss %.4f  train acc %.2f%%  test acc %.2f%%  %.1f s%n",
                    epoch, epochs, trainLoss, 100 * trainAccuracy, 100 * testAccuracy, seconds);
            out.flush();
        }
    }
}
