package io.kdstream.trainer.state;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * SGD with momentum or Adam over named arrays, with all state explicit (moments by parameter name, update count), so
 * a checkpoint captures it exactly and a restored run continues bit for bit. State arrays live in the long-lived
 * manager given at construction; an update's temporaries live and die inside the engine call.
 *
 * <p>Each parameter's update is one fused engine call (the engine's own Adam and SGD update kernels), not a chain of
 * a dozen element-wise calls: for small students the optimizer's cost is per call, not per element.
 *
 * <ul>
 *   <li>Adam: {@code m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²; p −= lr · m̂ / (√v̂ + ε)} with
 *       {@code m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t)}: the rule of PyTorch's {@code torch.optim.Adam}.</li>
 *   <li>SGD: {@code m = μ·m + g; p −= lr·m}.</li>
 * </ul>
 */
public final class Optimizer {
    /** Which update rule. */
    public enum Kind { SGD, ADAM }

    private static final float ADAM_BETA2 = 0.999f;
    private static final float ADAM_EPS = 1e-8f;
    /** The engine kernels clip only at a non-negative bound; a negative one turns clipping off. */
    private static final float NO_CLIP = -1f;

    private final Kind kind;
    private final float momentum;
    private final NDManager stateManager;
    private final Map<String, NDArray> first = new LinkedHashMap<>();
    private final Map<String, NDArray> second = new LinkedHashMap<>();
    private long updates;

    public Optimizer(Kind kind, double momentum, NDManager stateManager) {
        this.kind = Objects.requireNonNull(kind, "kind");
        this.momentum = (float) momentum;
        this.stateManager = Objects.requireNonNull(stateManager, "stateManager");
    }

    public Kind kind() {
        return kind;
    }

    public long updates() {
        return updates;
    }

    /** Applies one update to every parameter with a gradient in {@code gradients}; arrays are updated in place. */
    public void step(Map<String, NDArray> parameters, Map<String, NDArray> gradients, double learningRate) {
        updates++;
        float lr = (float) learningRate;
        for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
            NDArray g = gradients.get(e.getKey());
            if (g == null) {
                continue;
            }
            NDArray p = e.getValue();
            NDArray m = first.computeIfAbsent(e.getKey(), k -> state(p));
            if (kind == Kind.SGD) {
                // m = momentum · m + g, then the engine's plain SGD step p −= lr · m (no weight decay, no clipping)
                m.muli(momentum).addi(g);
                p.getNDArrayInternal().sgdUpdate(new NDList(p, m), new NDList(p), lr, 0f, 1f, NO_CLIP, 0f, true);
            } else {
                NDArray v = second.computeIfAbsent(e.getKey(), k -> state(p));
                // the kernel computes p −= lrc · m / (√v + eps'); with lrc = lr·√c2 / c1 and eps' = ε·√c2 that is
                // exactly lr · m̂ / (√v̂ + ε), m̂ = m / c1, v̂ = v / c2: the usual bias-corrected rule
                double rootC2 = Math.sqrt(1 - Math.pow(ADAM_BETA2, updates));
                float corrected = (float) (learningRate * rootC2 / (1 - Math.pow(momentum, updates)));
                p.getNDArrayInternal().adamUpdate(new NDList(p, g, m, v), new NDList(p), lr, corrected, 0f, 1f,
                        NO_CLIP, momentum, ADAM_BETA2, (float) (ADAM_EPS * rootC2), true, false);
            }
        }
    }

    /** Optimizer state by name ({@code m:NAME}, {@code v:NAME}), for checkpoints. */
    public Map<String, NDArray> state() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        first.forEach((k, v) -> out.put("m:" + k, v));
        second.forEach((k, v) -> out.put("v:" + k, v));
        return out;
    }

    /** Replaces the state with one written by {@link #state()} (arrays are copied into the state manager). */
    public void restore(Map<String, float[]> values, Map<String, long[]> shapes, long updateCount) {
        updates = updateCount;
        // the restored state replaces all of the current one: moments the snapshot lacks start from zero again
        first.values().forEach(NDArray::close);
        second.values().forEach(NDArray::close);
        first.clear();
        second.clear();
        values.forEach((key, data) -> {
            NDArray a = stateManager.create(data, new ai.djl.ndarray.types.Shape(shapes.get(key)));
            if (key.startsWith("m:")) {
                first.put(key.substring(2), a);
            } else if (key.startsWith("v:")) {
                second.put(key.substring(2), a);
            } else {
                throw new IllegalArgumentException("unknown optimizer state " + key);
            }
        });
    }

    private NDArray state(NDArray like) {
        return stateManager.zeros(like.getShape(), like.getDataType());
    }

}
