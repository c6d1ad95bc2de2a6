package io.kdstream.trainer;

import io.kdstream.core.KdException;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.data.LabelSelection;
import io.kdstream.core.zoo.Architecture;
import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.state.TrainingCore;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.SplittableRandom;

/**
 * Times the training step alone ({@link TrainingCore#step}) over batches built in memory from the Fashion-MNIST IDX
 * files, with no broker: the figure to compare with a plain training loop written directly against an engine. The
 * step is the one a normal run takes, with the run's configuration (loss, temperature, alpha, optimizer, learning
 * rate, seed).
 *
 * <p>The batches are the first {@code records} training images in file order, cut into {@code records / batchSize}
 * consecutive batches (a remainder is left out); step {@code s} trains on batch {@code s mod count}. Pixels become
 * {@code value / 255}. The teacher logits come from a file ({@code records × 10} little-endian float32, row-major, so
 * another program can train on exactly the same numbers) or, without one, are drawn from the seed: a standard normal
 * per class plus 4 on the labelled class. A benchmark, not a test: it asserts nothing.
 */
public final class MemoryBenchmark {
    /** Added to the labelled class's synthetic teacher logit, so the synthetic teacher agrees with the labels. */
    private static final float SYNTHETIC_MARGIN = 4f;

    private MemoryBenchmark() {
    }

    /**
     * What to time.
     *
     * @param steps         timed steps
     * @param warmupSteps   steps run first and not timed (engine warm-up)
     * @param records       training images the batches are cut from
     * @param dataDir       directory of the Fashion-MNIST IDX files
     * @param teacherLogits file of {@code records × classes} float32 teacher logits, or null for synthetic ones
     */
    public record Settings(long steps, int warmupSteps, int records, Path dataDir, Path teacherLogits) {
        public Settings {
            if (steps < 1) {
                throw new KdException("The memory-only benchmark needs at least one timed step, got " + steps);
            }
            if (warmupSteps < 0) {
                throw new KdException("Warm-up steps cannot be negative, got " + warmupSteps);
            }
            if (records < 1) {
                throw new KdException("The memory-only benchmark needs at least one record, got " + records);
            }
            Objects.requireNonNull(dataDir, "dataDir");
        }
    }

    /**
     * The figures of one run.
     *
     * @param steps               timed steps
     * @param skippedSteps        timed steps whose update was not applied (non-finite loss or gradient)
     * @param samplesPerSecond    examples of the applied timed steps per second of the timed loop
     * @param forwardBackwardNanos summed forward and backward time of the timed steps
     * @param optimizerNanos      summed optimizer time of the timed steps (with the finite-gradient check and reset)
     * @param elapsedNanos        wall-clock time of the timed loop
     * @param cpuNanos            CPU time the training thread spent in the timed loop (with one intra-op thread the
     *                            engine computes on that thread), or -1 where the JVM cannot measure it; on a machine
     *                            shared with other work it varies far less than wall-clock time
     * @param logitsSource        where the teacher logits came from
     */
    public record Report(String student, int batchSize, long steps, int warmupSteps, int batches, long skippedSteps,
                         double samplesPerSecond, long forwardBackwardNanos, long optimizerNanos, long elapsedNanos,
                         long cpuNanos, String logitsSource) {
        /** Examples of the applied timed steps per CPU-second of the training thread, or NaN when unmeasured. */
        public double samplesPerCpuSecond() {
            return cpuNanos <= 0 ? Double.NaN : samplesPerSecond * elapsedNanos / cpuNanos;
        }

        public String format() {
            double perStep = 1e6 * steps;
            return String.format(Locale.ROOT, """
                    student: %s, batch size: %d, steps: %d (after %d warm-up), distinct batches: %d, teacher logits: %s
                    memory-only: %.0f samples/s
                    memory-only cpu: %.0f samples per CPU-second of the training thread
                    per step (ms): forward+backward %.3f, optimizer %.3f, step total %.3f, training thread CPU %.3f%s""",
                    student, batchSize, steps, warmupSteps, batches, logitsSource, samplesPerSecond, samplesPerCpuSecond(),
                    forwardBackwardNanos / perStep, optimizerNanos / perStep, elapsedNanos / perStep, cpuNanos / perStep,
                    skippedSteps == 0 ? "" : String.format(Locale.ROOT, "%nskipped steps (non-finite): %d", skippedSteps));
        }
    }

    /** Runs the benchmark with the training settings {@code props} (no connection settings are needed). */
    public static Report run(Map<String, Object> props, Settings settings) {
        FashionMnist data = FashionMnist.load(settings.dataDir(), FashionMnist.Split.TRAIN);
        Map<String, Object> p = new HashMap<>(props);
        p.putIfAbsent(TrainerConfig.CHECKPOINT_DIR_CONFIG, "kdstream-memory-benchmark"); // never written
        TrainerConfig config = new TrainerConfig(p);
        List<Integer> shape = List.of(1, data.rows(), data.cols());
        Architecture architecture = StudentArchitectures.resolve(config, () -> new io.kdstream.trainer.source.StreamShape(shape,
                OptionalInt.of(FashionMnist.NUM_CLASSES), data.source()));
        if (architecture.inputSize() != data.imageSize() || architecture.numClasses() != FashionMnist.NUM_CLASSES) {
            throw new KdException("Student " + architecture.name() + " takes " + architecture.inputSize() + " inputs and "
                    + architecture.numClasses() + " classes; the memory-only benchmark feeds Fashion-MNIST ("
                    + data.imageSize() + " inputs, " + FashionMnist.NUM_CLASSES + " classes)");
        }
        int records = Math.min(settings.records(), data.size());
        float[] logits = settings.teacherLogits() != null
                ? readLogits(settings.teacherLogits(), records, FashionMnist.NUM_CLASSES)
                : syntheticLogits(data.labels(), records, FashionMnist.NUM_CLASSES, config.seed());
        String source = settings.teacherLogits() != null ? settings.teacherLogits().toString()
                : "synthetic (seed " + config.seed() + ")";
        List<Batch> batches = batches(data, records, config.batchSize(), config.teacherStream() ? logits : null,
                new LabelSelection(config.labelFraction(), config.seed()));
        return time(config, architecture, batches, settings, source);
    }

    private static Report time(TrainerConfig config, Architecture architecture, List<Batch> batches, Settings settings,
                               String source) {
        long samples = 0;
        long skipped = 0;
        long forwardBackward = 0;
        long optimizer = 0;
        long elapsed;
        long cpu;
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        boolean cpuTime = threads.isCurrentThreadCpuTimeSupported();
        try (TrainingCore core = new TrainingCore(config, architecture)) {
            for (int i = 0; i < settings.warmupSteps(); i++) {
                core.step(batches.get(i % batches.size()), i);
            }
            long c0 = cpuTime ? threads.getCurrentThreadCpuTime() : -1;
            long t0 = System.nanoTime();
            for (long s = 0; s < settings.steps(); s++) {
                long index = settings.warmupSteps() + s;
                Batch b = batches.get((int) (index % batches.size()));
                TrainingCore.StepOutcome outcome = core.step(b, index);
                if (outcome.applied()) {
                    samples += b.size();
                } else {
                    skipped++;
                }
                forwardBackward += outcome.forwardBackwardNanos();
                optimizer += outcome.optimizerNanos();
            }
            elapsed = System.nanoTime() - t0;
            cpu = cpuTime ? threads.getCurrentThreadCpuTime() - c0 : -1;
        }
        return new Report(architecture.name(), config.batchSize(), settings.steps(), settings.warmupSteps(), batches.size(),
                skipped, samples / (elapsed / 1e9), forwardBackward, optimizer, elapsed, cpu, source);
    }

    /**
     * The first {@code records} images of {@code data} cut into consecutive batches of {@code batchSize} (a remainder is
     * left out), with their labels (negative where {@code labels} drops one) and teacher logits (none when null).
     *
     * @throws KdException when {@code records} is smaller than one batch
     */
    static List<Batch> batches(FashionMnist data, int records, int batchSize, float[] logits, LabelSelection labels) {
        int count = records / batchSize;
        if (count == 0) {
            throw new KdException("The memory-only benchmark needs at least one full batch: " + records + " records, batch size "
                    + batchSize);
        }
        int size = data.imageSize();
        int classes = FashionMnist.NUM_CLASSES;
        byte[] pixels = data.pixels();
        List<Batch> out = new ArrayList<>(count);
        for (int b = 0; b < count; b++) {
            int first = b * batchSize;
            float[] inputs = new float[batchSize * size];
            for (int i = 0; i < inputs.length; i++) {
                inputs[i] = (pixels[first * size + i] & 0xFF) / 255f;
            }
            int[] y = new int[batchSize];
            for (int i = 0; i < batchSize; i++) {
                y[i] = labels.keeps(data.id(first + i)) ? data.label(first + i) : -1;
            }
            float[] t = logits == null ? null
                    : java.util.Arrays.copyOfRange(logits, first * classes, (first + batchSize) * classes);
            out.add(new Batch(0, batchSize, inputs, y, t, null, null, Map.of(), null, 0, 0, null));
        }
        return out;
    }

    /** Seeded stand-in teacher logits: a standard normal per class plus {@value #SYNTHETIC_MARGIN} on the label. */
    static float[] syntheticLogits(int[] labels, int records, int classes, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] out = new float[records * classes];
        for (int r = 0; r < records; r++) {
            for (int c = 0; c < classes; c++) {
                out[r * classes + c] = (float) gaussian(random) + (c == labels[r] ? SYNTHETIC_MARGIN : 0f);
            }
        }
        return out;
    }

    private static double gaussian(SplittableRandom random) {
        // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1]
        double u = 1 - random.nextDouble();
        double v = random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    /**
     * The first {@code records × classes} values of a file of little-endian float32 teacher logits.
     *
     * @throws KdException when the file cannot be read, is too short, or holds a non-finite value
     */
    static float[] readLogits(Path file, int records, int classes) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new KdException("Cannot read teacher logits from " + file + ": " + e.getMessage(), e);
        }
        long needed = (long) records * classes * Float.BYTES;
        if (bytes.length % (classes * Float.BYTES) != 0 || bytes.length < needed) {
            throw new KdException("Teacher logits file " + file + " holds " + bytes.length + " bytes; expected at least "
                    + needed + " (" + records + " records x " + classes + " classes of little-endian float32), a whole "
                    + "number of records");
        }
        float[] out = new float[records * classes];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        for (int i = 0; i < out.length; i++) {
            if (!Float.isFinite(out[i])) {
                throw new KdException("Teacher logits file " + file + " holds a non-finite value at record "
                        + i / classes + ", class " + i % classes);
            }
        }
        return out;
    }
}
