package io.kdstream.trainer.state;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StagingBuffersTest {
    private NDManager manager;
    private final StagingBuffers staging = new StagingBuffers();

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    @Test
    void shouldHandTheEngineTheValuesOfEachStepThroughOneReusedBuffer() {
        float[] first = {1.5f, -2f, 3.25f, Float.MIN_VALUE, -0f, 7f};
        float[] second = {9f, 8f, 7f, 6f, 5f, 4f};

        float[] seenFirst;
        try (NDManager step = manager.newSubManager()) {
            NDArray a = staging.floats(step, "inputs", first, new Shape(2, 3));
            assertThat(a.getDataType()).isEqualTo(DataType.FLOAT32);
            assertThat(a.getShape()).isEqualTo(new Shape(2, 3));
            seenFirst = a.toFloatArray();
        }
        long capacity = staging.capacity();
        float[] seenSecond;
        try (NDManager step = manager.newSubManager()) {
            seenSecond = staging.floats(step, "inputs", second, new Shape(2, 3)).toFloatArray();
        }

        assertThat(seenFirst).containsExactly(first);
        assertThat(Float.floatToRawIntBits(seenFirst[4])).isEqualTo(Float.floatToRawIntBits(-0f));
        assertThat(seenSecond).containsExactly(second);
        assertThat(staging.capacity()).as("the second step reuses the first one's buffer").isEqualTo(capacity);
    }

    @Test
    void shouldGrowASlotForALargerBatchAndTakeOnlyTheShapesValues() {
        try (NDManager step = manager.newSubManager()) {
            staging.floats(step, "teacher", new float[] {1, 2}, new Shape(1, 2));
        }
        float[] larger = {1, 2, 3, 4, 5, 6, 7, 8};
        try (NDManager step = manager.newSubManager()) {
            assertThat(staging.floats(step, "teacher", larger, new Shape(2, 3)).toFloatArray())
                    .containsExactly(1, 2, 3, 4, 5, 6);
        }
        assertThat(staging.capacity()).isEqualTo(6 * Float.BYTES);
    }

    @Test
    void shouldStageClassIndicesAsInt64() {
        try (NDManager step = manager.newSubManager()) {
            NDArray y = staging.longs(step, "labels", new int[] {3, 0, 9}, new Shape(3, 1));
            assertThat(y.getDataType()).isEqualTo(DataType.INT64);
            assertThat(y.toLongArray()).containsExactly(3L, 0L, 9L);
        }
    }

    @Test
    void shouldRefuseAShapeLargerThanTheArray() {
        assertThatThrownBy(() -> staging.floats(manager, "inputs", new float[3], new Shape(2, 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs 4 values");
    }
}
