package io.kdstream.ops.demo;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * How big a demo run is: data, epochs, evaluation and monitor windows. {@link #quick()} is the first-contact run
 * (a subset, one short teacher epoch); {@link #full()} gives the headline numbers.
 *
 * @param name               "quick" or "full"
 * @param trainImages        training images published to the inputs topic (and served by the teacher)
 * @param teacherTrainImages training images the teacher learns from
 * @param teacherEpochs      teacher epochs
 * @param teacherTestImages  test images the teacher's accuracy is measured on
 * @param studentEpochs      student epochs over the teacher outputs
 * @param batchSize          student batch size
 * @param evalIntervalSteps  student steps between evaluations
 * @param evalImages         test images each student evaluation uses
 * @param partitions         partitions of every topic
 * @param badRecords         malformed inputs injected to exercise the dead-letter path
 * @param seed               seed of the teacher and the students
 * @param lossWindow         loss-ratio monitor window size
 * @param lossAdvance        loss-ratio monitor window advance
 * @param lossGrace          loss-ratio monitor grace period
 * @param labelFraction      share of the published training images that keep their label (the others are published
 *                           without one, as in a production stream; the teacher still labels every image)
 */
public record DemoPlan(String name, int trainImages, int teacherTrainImages, int teacherEpochs, int teacherTestImages,
                       int studentEpochs, int batchSize, int evalIntervalSteps, int evalImages, int partitions,
                       int badRecords, long seed, Duration lossWindow, Duration lossAdvance, Duration lossGrace,
                       double labelFraction) {

    /** The demo's stream: one image in twenty carries a label, as a mostly unlabelled production topic would. */
    public static final double LABEL_FRACTION = 0.05;

    /** Teacher batch size and learning rate: those of {@code kdstream teacher train}. */
    public static final int TEACHER_BATCH_SIZE = 128;
    public static final float TEACHER_LEARNING_RATE = 0.001f;

    public DemoPlan {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("name must not be blank");
        }
        if (IntStream.of(trainImages, teacherTrainImages, teacherEpochs, teacherTestImages, studentEpochs, batchSize,
                evalIntervalSteps, evalImages, partitions, badRecords + 1).anyMatch(count -> count < 1)) {
            throw new IllegalArgumentException("every count must be positive (badRecords >= 0): " + name);
        }
        if (!(positive(lossWindow) && positive(lossAdvance) && lossAdvance.compareTo(lossWindow) <= 0
                && !lossGrace.isNegative())) {
            throw new IllegalArgumentException("monitor windows need 0 < advance <= size and grace >= 0");
        }
        if (!(labelFraction > 0 && labelFraction <= 1)) {
            throw new IllegalArgumentException("labelFraction must be in (0, 1], got " + labelFraction);
        }
    }

    private static boolean positive(Duration d) {
        return !d.isNegative() && !d.isZero();
    }

    /** A few minutes on two cores: 6,000 images, one teacher epoch, two student epochs. */
    public static DemoPlan quick() {
        return new DemoPlan("quick", 6_000, 6_000, 1, 2_000, 2, 64, 20, 2_000, 2, 10, 42,
                Duration.ofMillis(1_000), Duration.ofMillis(500), Duration.ofMillis(500), LABEL_FRACTION);
    }

    /** The headline run: the whole training split, a three-epoch teacher, three student epochs. */
    public static DemoPlan full() {
        return new DemoPlan("full", 60_000, 60_000, 3, 10_000, 3, 64, 100, 10_000, 2, 10, 42,
                Duration.ofSeconds(2), Duration.ofSeconds(1), Duration.ofSeconds(1), LABEL_FRACTION);
    }

    /** Steps of one student over the whole run. */
    public long studentSteps() {
        return (long) studentEpochs * ((trainImages + batchSize - 1) / batchSize);
    }

    /** The plan as a table for the report. */
    public Map<String, String> describe() {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("demo.plan", name);
        out.put("demo.train.images", Integer.toString(trainImages));
        out.put("demo.teacher.train.images", Integer.toString(teacherTrainImages));
        out.put("demo.teacher.epochs", Integer.toString(teacherEpochs));
        out.put("demo.teacher.test.images", Integer.toString(teacherTestImages));
        out.put("demo.teacher.batch.size", Integer.toString(TEACHER_BATCH_SIZE));
        out.put("demo.teacher.learning.rate", String.format(Locale.ROOT, "%s", TEACHER_LEARNING_RATE));
        out.put("demo.student.epochs", Integer.toString(studentEpochs));
        out.put("demo.bad.records", Integer.toString(badRecords));
        out.put("demo.label.fraction", Double.toString(labelFraction));
        out.put("demo.seed", Long.toString(seed));
        out.put("kd.topics.partitions", Integer.toString(partitions));
        return out;
    }
}
