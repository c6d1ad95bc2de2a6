package io.kdstream.core.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * Arrays made from Java data whose memory the engine owns.
 *
 * <p>DJL's PyTorch engine backs an array made from Java data ({@code NDManager.create(float[])}, {@code NDArray.set})
 * with a direct buffer that only that array's Java object keeps alive: a view of it ({@code reshape}, {@code
 * transpose}) does not, and neither does the autograd graph that saved it for the backward pass. Once the Java
 * object is unreachable, or closed, the garbage collector frees memory the engine may still read: results then
 * depend on when the collector ran (measured: the same steps on the same batches gave different parameters under
 * frequent collections). Every array built from Java data for training is therefore copied into engine-owned
 * memory, and values are written into an existing array's own storage instead of re-pointing it at a buffer.
 */
public final class OwnedArrays {
    private OwnedArrays() {
    }

    /** A float array of {@code shape} in {@code manager}, in engine-owned memory. */
    public static NDArray create(NDManager manager, float[] data, Shape shape) {
        try (NDArray shared = manager.create(data, shape)) {
            return shared.duplicate();
        }
    }

    /** An int array in {@code manager}, in engine-owned memory. */
    public static NDArray create(NDManager manager, int[] data) {
        try (NDArray shared = manager.create(data)) {
            return shared.duplicate();
        }
    }

    /** A float array in {@code manager}, in engine-owned memory. */
    public static NDArray create(NDManager manager, float[] data) {
        return create(manager, data, new Shape(data.length));
    }

    /** A float scalar in {@code manager}, in engine-owned memory. */
    public static NDArray scalar(NDManager manager, float value) {
        try (NDArray shared = manager.create(value)) {
            return shared.duplicate();
        }
    }

    /**
     * Copies {@code values} into {@code target}'s own storage (NaN and infinities included), keeping the memory it
     * has; call it with gradient recording off when {@code target} requires a gradient.
     */
    public static void copyInto(NDArray target, float[] values) {
        if (values.length != target.size()) {
            throw new IllegalArgumentException("cannot copy " + values.length + " values into an array of " + target.size());
        }
        try (NDArray source = target.getManager().create(values, target.getShape())) {
            target.set(new NDIndex("..."), source);
        }
    }
}
