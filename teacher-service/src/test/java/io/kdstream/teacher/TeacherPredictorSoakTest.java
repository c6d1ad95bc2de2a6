package io.kdstream.teacher;

import ai.djl.Device;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Native memory of a predictor stays flat over many batches: every NDArray lives in a per-call scope. */
class TeacherPredictorSoakTest {

    private static final Path STATUS = Path.of("/proc/self/status");

    @Test
    void shouldKeepResidentMemoryFlatOverThousandsOfBatches() throws URISyntaxException, IOException {
        assumeTrue(Files.isReadable(STATUS), "needs /proc/self/status (Linux)");
        Path pt = Path.of(getClass().getResource("/torchscript/tiny_teacher.pt").toURI());
        float[] batch = TorchScriptTeacherTest.pattern(64);
        try (Teacher teacher = TeacherLoader.load(pt, Device.cpu()); TeacherPredictor predictor = teacher.newPredictor()) {
            for (int i = 0; i < 300; i++) {
                predictor.predict(batch, 64);
            }
            long before = offHeapResidentKb();
            // each batch allocates ~0.2 MB of input and ~0.3 MB of outputs natively: a leak would add > 1.4 GB
            // here. The bound leaves room for what RSS minus the committed heap cannot separate (heap pages touched
            // for the first time, malloc arena growth, JIT code), which reached 131 MiB on a 2-core CI machine.
            for (int i = 0; i < 3_000; i++) {
                predictor.predict(batch, 64);
            }
            long grownKb = offHeapResidentKb() - before;
            assertThat(grownKb).as("off-heap resident memory growth in KiB").isLessThan(512 * 1024);
        }
    }

    /** Resident memory minus the committed Java heap (garbage float[] copies grow the heap, not native memory). */
    private static long offHeapResidentKb() throws IOException {
        System.gc();
        return residentKb() - Runtime.getRuntime().totalMemory() / 1024;
    }

    private static long residentKb() throws IOException {
        for (String line : Files.readAllLines(STATUS)) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in " + STATUS);
    }
}
