package io.kdstream.trainer.state;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

/**
 * Direct buffers, one per named slot, that the training step fills from a batch's arrays and hands to the engine.
 *
 * <p>{@code NDManager.create(float[], Shape)} allocates a fresh direct buffer (zeroed by the JVM, tracked by a
 * cleaner) for every array of every step and copies the data into it. On CPU the PyTorch engine then wraps a direct
 * buffer without copying it again, so filling a buffer that lives as long as the trainer costs one copy and no
 * allocation. A slot grows when a larger batch needs it and is otherwise reused.
 *
 * <p>The engine array shares the slot's memory: a slot may be refilled only once the arrays made from it are closed.
 * The training step closes every array it makes at its end, and uses each slot once per attempt; a retried attempt
 * refills the slot with the same values, so an input a module changed in place is restored. Not thread-safe: one
 * training thread owns it.
 */
final class StagingBuffers {
    private final Map<String, ByteBuffer> slots = new HashMap<>();

    /** The first {@code shape.size()} values of {@code data} as a FLOAT32 array of {@code shape}. */
    NDArray floats(NDManager manager, String slot, float[] data, Shape shape) {
        int n = size(shape, data.length);
        ByteBuffer buffer = buffer(slot, n * Float.BYTES);
        buffer.asFloatBuffer().put(data, 0, n);
        return manager.create(buffer, shape, DataType.FLOAT32);
    }

    /** The first {@code shape.size()} values of {@code data} as an INT64 array of {@code shape} (class indices). */
    NDArray longs(NDManager manager, String slot, int[] data, Shape shape) {
        int n = size(shape, data.length);
        ByteBuffer buffer = buffer(slot, n * Long.BYTES);
        for (int i = 0; i < n; i++) {
            buffer.putLong(i * Long.BYTES, data[i]);
        }
        return manager.create(buffer, shape, DataType.INT64);
    }

    /** Bytes held by all slots. */
    long capacity() {
        return slots.values().stream().mapToLong(ByteBuffer::capacity).sum();
    }

    private static int size(Shape shape, int available) {
        long n = shape.size();
        if (n > available) {
            throw new IllegalArgumentException("shape " + shape + " needs " + n + " values, the array has " + available);
        }
        return (int) n;
    }

    /** The slot's memory from its start, exactly {@code bytes} long (the engine reads from the buffer's address). */
    private ByteBuffer buffer(String slot, int bytes) {
        ByteBuffer buffer = slots.get(slot);
        if (buffer == null || buffer.capacity() < bytes) {
            buffer = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
            slots.put(slot, buffer);
        }
        return buffer.slice(0, bytes).order(ByteOrder.nativeOrder());
    }
}
