package io.kdstream.trainer;

import io.kdstream.core.KdException;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.data.LabelSelection;
import io.kdstream.trainer.source.Batch;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MemoryBenchmarkTest {
    private static final int SIDE = 28;
    private static final int PIXELS = SIDE * SIDE;
    private static final int CLASSES = 10;

    @Test
    void shouldCutConsecutiveBatchesFromTheFirstRecordsWithPixelsLabelsAndTeacherLogits(@TempDir Path dir) throws IOException {
        writeDataset(dir, 10);
        FashionMnist data = FashionMnist.load(dir, FashionMnist.Split.TRAIN);
        float[] logits = new float[7 * CLASSES];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = i;
        }

        List<Batch> batches = MemoryBenchmark.batches(data, 7, 3, logits, LabelSelection.ALL);

        assertThat(batches).hasSize(2); // 7 records: two batches of 3, the seventh left out
        Batch second = batches.get(1);
        assertThat(second.size()).isEqualTo(3);
        assertThat(second.labels()).containsExactly(3 % CLASSES, 4 % CLASSES, 5 % CLASSES);
        assertThat(second.inputs()).hasSize(3 * PIXELS);
        assertThat(second.inputs()[0]).isEqualTo(pixel(3, 0) / 255f);
        assertThat(second.inputs()[PIXELS + 5]).isEqualTo(pixel(4, 5) / 255f);
        assertThat(second.logits()).hasSize(3 * CLASSES);
        assertThat(second.logits()[0]).isEqualTo(30f);
        assertThat(second.logits()[3 * CLASSES - 1]).isEqualTo(59f);
        assertThat(second.features()).isNull();
    }

    @Test
    void shouldDropTheLabelsTheLabelFractionLeavesOutAndCarryNoLogitsWithoutATeacher(@TempDir Path dir) throws IOException {
        writeDataset(dir, 10);
        FashionMnist data = FashionMnist.load(dir, FashionMnist.Split.TRAIN);

        List<Batch> batches = MemoryBenchmark.batches(data, 10, 10, null, new LabelSelection(0.0, 1));

        assertThat(batches.get(0).labels()).containsOnly(-1);
        assertThat(batches.get(0).logits()).isNull();
    }

    @Test
    void shouldRefuseRecordsFewerThanOneBatch(@TempDir Path dir) throws IOException {
        writeDataset(dir, 4);
        FashionMnist data = FashionMnist.load(dir, FashionMnist.Split.TRAIN);

        assertThatThrownBy(() -> MemoryBenchmark.batches(data, 4, 5, null, LabelSelection.ALL))
                .isInstanceOf(KdException.class).hasMessageContaining("at least one full batch");
    }

    @Test
    void shouldReadLittleEndianFloat32LogitsAndRejectAShortOrNonFiniteFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("logits.f32");
        writeLogits(file, 3, 1.5f);
        Path bad = dir.resolve("bad.f32");
        writeLogits(bad, 3, Float.NaN);

        float[] two = MemoryBenchmark.readLogits(file, 2, CLASSES);

        assertThat(two).hasSize(2 * CLASSES);
        assertThat(two[0]).isEqualTo(1.5f);
        assertThat(two[2 * CLASSES - 1]).isEqualTo(1.5f + 2 * CLASSES - 1);
        assertThatThrownBy(() -> MemoryBenchmark.readLogits(file, 4, CLASSES))
                .isInstanceOf(KdException.class).hasMessageContaining(file.toString()).hasMessageContaining("expected at least 160");
        assertThatThrownBy(() -> MemoryBenchmark.readLogits(bad, 3, CLASSES))
                .isInstanceOf(KdException.class).hasMessageContaining("non-finite value at record 0, class 0");
    }

    @Test
    void shouldDrawTheSameSyntheticLogitsFromTheSameSeedWithTheLabelOnTop() {
        int[] labels = {3, 7, 0, 9};

        float[] a = MemoryBenchmark.syntheticLogits(labels, 4, CLASSES, 42);
        float[] b = MemoryBenchmark.syntheticLogits(labels, 4, CLASSES, 42);
        float[] c = MemoryBenchmark.syntheticLogits(labels, 4, CLASSES, 43);

        assertThat(a).containsExactly(b);
        assertThat(a).isNotEqualTo(c);
        double labelMean = 0;
        double otherMean = 0;
        for (int r = 0; r < labels.length; r++) {
            for (int k = 0; k < CLASSES; k++) {
                if (k == labels[r]) {
                    labelMean += a[r * CLASSES + k] / labels.length;
                } else {
                    otherMean += a[r * CLASSES + k] / (labels.length * (CLASSES - 1.0));
                }
            }
        }
        assertThat(labelMean - otherMean).isGreaterThan(1.5);
    }

    @Test
    void shouldTimeTheRequestedStepsOfTheZooStudentWithoutABroker(@TempDir Path dir) throws IOException {
        writeDataset(dir, 12);
        Path logits = dir.resolve("logits.f32");
        writeLogits(logits, 12, 0f);

        MemoryBenchmark.Report report = MemoryBenchmark.run(Map.of(TrainerConfig.BATCH_SIZE_CONFIG, "4",
                        TrainerConfig.STUDENT_CONFIG, "fmnist-mlp-student"),
                new MemoryBenchmark.Settings(3, 1, 10, dir, logits));

        assertThat(report.student()).isEqualTo("fmnist-mlp-student");
        assertThat(report.batchSize()).isEqualTo(4);
        assertThat(report.steps()).isEqualTo(3);
        assertThat(report.batches()).isEqualTo(2);
        assertThat(report.skippedSteps()).isZero();
        assertThat(report.samplesPerSecond()).isPositive();
        assertThat(report.forwardBackwardNanos()).isPositive();
        assertThat(report.optimizerNanos()).isPositive();
        assertThat(report.forwardBackwardNanos() + report.optimizerNanos()).isLessThanOrEqualTo(report.elapsedNanos());
        assertThat(report.cpuNanos()).isPositive();
        assertThat(report.samplesPerCpuSecond()).isPositive();
        assertThat(report.format()).contains("memory-only: ").contains("memory-only cpu: ").contains("teacher logits: " + logits)
                .contains("steps: 3 (after 1 warm-up)");
    }

    @Test
    void shouldRefuseSettingsWithoutTimedSteps(@TempDir Path dir) {
        assertThatThrownBy(() -> new MemoryBenchmark.Settings(0, 1, 10, dir, null))
                .isInstanceOf(KdException.class).hasMessageContaining("at least one timed step");
    }

    private static int pixel(int image, int index) {
        return (image * 31 + index * 7) & 0xFF;
    }

    /** Both splits with {@code n} 28x28 images, pixel j of image i = {@link #pixel}, label i % 10. */
    private static void writeDataset(Path dir, int n) throws IOException {
        for (String stem : new String[] {"train", "t10k"}) {
            try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(dir.resolve(stem + "-images-idx3-ubyte")))) {
                out.writeInt(0x803);
                out.writeInt(n);
                out.writeInt(SIDE);
                out.writeInt(SIDE);
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < PIXELS; j++) {
                        out.writeByte(pixel(i, j));
                    }
                }
            }
            try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(dir.resolve(stem + "-labels-idx1-ubyte")))) {
                out.writeInt(0x801);
                out.writeInt(n);
                for (int i = 0; i < n; i++) {
                    out.writeByte(i % CLASSES);
                }
            }
        }
    }

    /** {@code records × 10} little-endian floats: {@code first}, {@code first + 1}, ... */
    private static void writeLogits(Path file, int records, float first) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(records * CLASSES * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < records * CLASSES; i++) {
            buf.putFloat(first + i);
        }
        Files.write(file, buf.array());
    }
}
