package io.kdstream.trainer.internals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * SGD with momentum or Adam over named arrays, with all state explicit (moments by parameter name, update count), so
 * a checkpoint captures it exactly and a restored run continues bit for bit. State arrays live in the long-lived
 * manager given at construction; every temporary of an update lives in the caller's per-batch manager.
 */
public final class Optimizer {
    /** Which update rule. */
    public enum Kind { SGD, ADAM }

    private static final float ADAM_BETA2 = 0.999f;
    private static final float ADAM_EPS = 1e-8f;

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
    public void step(Map<String, NDArray> parameters, Map<String, NDArray> gradients, double learningRate, NDManager batch) {
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
                // m = momentum · m + g;  p −= lr · m
                m.muli(momentum).addi(g);
                p.subi(scoped(m, batch).mul(lr));
            } else {
                NDArray v = second.computeIfAbsent(e.getKey(), k -> state(p));
                m.muli(momentum).addi(g.mul(1 - momentum));
                v.muli(ADAM_BETA2).addi(g.square().mul(1 - ADAM_BETA2));
                float c1 = (float) (1 - Math.pow(momentum, updates));
                float c2 = (float) (1 - Math.pow(ADAM_BETA2, updates));
                NDArray denom = scoped(v, batch).div(c2).sqrt().add(ADAM_EPS);
                p.subi(scoped(m, batch).div(c1).div(denom).mul(lr));
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

    private static NDArray scoped(NDArray a, NDManager batch) {
        NDArray copy = a.duplicate();
        copy.attach(batch);
        return copy;
    }
}
