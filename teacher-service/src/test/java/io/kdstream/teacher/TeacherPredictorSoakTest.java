package io.kdstream.teacher;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Native memory of a predictor stays flat over many batches: every NDArray lives in a per-call scope.
 *
 * <p>Two measures, each sized so that a leak of one batch's outputs per batch fails it. The engine's own count: every
 * NDArray the PyTorch engine tracks (its system manager and every manager below it) is counted before and after the
 * batches; an array left attached to the model's manager, to an unclosed scope or to any other manager adds one per
 * batch, and the count is exact, so the check is free of allocator noise. Resident memory: for a leaked native tensor
 * that no manager tracks any more (a detached array), resident memory minus the committed heap must grow by less than
 * {@link #RSS_BOUND_BYTES}, and the test runs enough batches that one leaked output per batch would add at least twice
 * that bound. A garbage collection every {@link #GC_EVERY} batches frees the direct buffers the engine hands out for
 * each batch's results as soon as they are garbage; without it they pile up until the next collection and resident
 * memory rose by up to 137 MiB over 5,000 batches, with it by 23 MiB (flat after about 3,000 batches).
 */
class TeacherPredictorSoakTest {

    private static final Path STATUS = Path.of("/proc/self/status");
    private static final int BATCH = 64;
    private static final int WARM_UP = 300;
    private static final int MIN_BATCHES = 1_000;
    private static final int GC_EVERY = 100;
    /**
     * Growth of resident memory minus the committed heap that is not a leak (malloc arenas, JIT code, metaspace):
     * 11-16 MiB after 1,000-1,500 batches, 23 MiB after 5,000, on the 2-core development machine.
     */
    private static final long RSS_BOUND_BYTES = 64L << 20;

    @Test
    void shouldKeepEngineArraysAndResidentMemoryFlatOverEnoughBatchesToExposeAnOutputSizedLeak()
            throws URISyntaxException, IOException {
        assumeTrue(Files.isReadable(STATUS), "needs /proc/self/status (Linux)");
        Path pt = Path.of(getClass().getResource("/torchscript/tiny_teacher.pt").toURI());
        float[] batch = TorchScriptTeacherTest.pattern(BATCH);
        try (Teacher teacher = TeacherLoader.load(pt, Device.cpu()); TeacherPredictor predictor = teacher.newPredictor()) {
            long outputBytes = 0;
            for (int i = 0; i < WARM_UP; i++) {
                outputBytes = bytes(predictor.predict(batch, BATCH));
            }
            int batches = batchesToExpose(outputBytes);
            int arraysBefore = engineArrays();
            long before = offHeapResidentBytes();
            for (int i = 1; i <= batches; i++) {
                predictor.predict(batch, BATCH);
                if (i % GC_EVERY == 0) {
                    System.gc();
                }
            }
            int arraysAfter = engineArrays();
            long grown = offHeapResidentBytes() - before;
            System.out.printf("TeacherPredictorSoakTest: %d batches of %d, %d output bytes per batch (a leak of one output per "
                            + "batch: %d MiB); engine arrays %d before, %d after; off-heap resident memory grew %d MiB (bound %d MiB)%n",
                    batches, BATCH, outputBytes, batches * outputBytes >> 20, arraysBefore, arraysAfter, grown >> 20,
                    RSS_BOUND_BYTES >> 20);

            assertThat(arraysAfter).as("NDArrays the engine tracks, after %d batches", batches).isEqualTo(arraysBefore);
            assertThat((long) batches * outputBytes).as("an output-sized leak per batch would exceed the bound twice over")
                    .isGreaterThanOrEqualTo(2 * RSS_BOUND_BYTES);
            assertThat(grown).as("off-heap resident memory growth in bytes").isLessThan(RSS_BOUND_BYTES);
        }
    }

    @Test
    void shouldCountAnArrayLeftInALongLivedManagerOnEveryBatch() throws URISyntaxException {
        // the engine-side measure is only worth having if it sees the leak it is meant for: here each batch leaves an
        // array of its outputs' size in a manager that outlives the batch
        Path pt = Path.of(getClass().getResource("/torchscript/tiny_teacher.pt").toURI());
        float[] batch = TorchScriptTeacherTest.pattern(BATCH);
        try (Teacher teacher = TeacherLoader.load(pt, Device.cpu()); TeacherPredictor predictor = teacher.newPredictor();
             NDManager longLived = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            predictor.predict(batch, BATCH);
            int before = engineArrays();
            List<NDArray> leaked = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                BatchOutput out = predictor.predict(batch, BATCH);
                leaked.add(longLived.create(new Shape(bytes(out) / Float.BYTES), DataType.FLOAT32));
            }
            assertThat(engineArrays() - before).isEqualTo(leaked.size());
        }
    }

    @Test
    void shouldSeeOneDetachedOutputSizedArrayPerBatchInResidentMemory() throws URISyntaxException, IOException {
        // the resident-memory measure is only worth having if the leak it is sized for exceeds its bound: here as many
        // arrays of one batch's output size as the soak runs batches are made and detached from their manager, as a
        // leak that no manager tracks would be
        assumeTrue(Files.isReadable(STATUS), "needs /proc/self/status (Linux)");
        Path pt = Path.of(getClass().getResource("/torchscript/tiny_teacher.pt").toURI());
        long outputBytes;
        try (Teacher teacher = TeacherLoader.load(pt, Device.cpu()); TeacherPredictor predictor = teacher.newPredictor()) {
            outputBytes = bytes(predictor.predict(TorchScriptTeacherTest.pattern(BATCH), BATCH));
        }
        int batches = batchesToExpose(outputBytes);
        float[] values = new float[(int) (outputBytes / Float.BYTES)];
        java.util.Arrays.fill(values, 1f);
        List<NDArray> leaked = new ArrayList<>();
        try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            long before = offHeapResidentBytes();
            for (int i = 0; i < batches; i++) {
                NDArray a = manager.create(values);
                a.detach();
                leaked.add(a);
            }
            long grown = offHeapResidentBytes() - before;
            System.out.printf("TeacherPredictorSoakTest: %d detached arrays of %d bytes grew off-heap resident memory by %d MiB "
                    + "(bound %d MiB)%n", batches, outputBytes, grown >> 20, RSS_BOUND_BYTES >> 20);
            assertThat(grown).as("resident memory growth of %d detached output-sized arrays", batches).isGreaterThan(RSS_BOUND_BYTES);
        } finally {
            leaked.forEach(NDArray::close);
        }
    }

    /** Enough batches that one leaked output per batch would exceed the resident-memory bound twice over. */
    private static int batchesToExpose(long outputBytes) {
        return (int) Math.max(MIN_BATCHES, (2 * RSS_BOUND_BYTES + outputBytes - 1) / outputBytes);
    }

    /** Every NDArray of the PyTorch engine: those of its system manager and of every manager below it. */
    private static int engineArrays() {
        try (NDManager probe = Engine.getEngine("PyTorch").newBaseManager(Device.cpu())) {
            return ((BaseNDManager) probe.getParentManager()).getManagedArrays().size();
        }
    }

    private static long bytes(BatchOutput out) {
        long n = out.logits().length;
        for (float[] f : out.features()) {
            n += f.length;
        }
        return n * Float.BYTES;
    }

    /** Resident memory minus the committed Java heap (garbage float[] copies grow the heap, not native memory). */
    private static long offHeapResidentBytes() throws IOException {
        System.gc();
        trimNativeHeap();
        return residentKb() * 1024 - Runtime.getRuntime().totalMemory();
    }

    /** glibc's {@code malloc_trim(0)}. */
    interface GlibcMalloc extends com.sun.jna.Library {
        int malloc_trim(long pad);
    }

    /**
     * Hands the native heap's free pages back to the system (glibc), so resident memory counts live allocations only:
     * otherwise arrays freed by an earlier test of the same JVM leave pages that later allocations reuse without any
     * growth, and the measure depends on the order the tests run in.
     */
    private static void trimNativeHeap() {
        try {
            com.sun.jna.Native.load("c", GlibcMalloc.class).malloc_trim(0);
        } catch (LinkageError | RuntimeException e) {
            // not glibc: the measure keeps its order dependence
        }
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
