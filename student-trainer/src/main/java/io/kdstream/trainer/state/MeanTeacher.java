package io.kdstream.trainer.state;

import io.kdstream.core.KdException;
import io.kdstream.core.zoo.Architecture;
import io.kdstream.core.zoo.FeatureBlock;
import io.kdstream.trainer.loss.Consistency;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The EMA (mean) teacher: a second copy of the student's network whose parameters are an exponential moving average
 * of the student's, {@code θ_ema ← τ·θ_ema + (1 − τ)·θ_student} after every applied step, and which never receives a
 * gradient. It holds its arrays apart from the student's trainable parameters (they are neither optimised nor
 * averaged across a group), in a sub-manager of the run's manager. Non-trainable state of the network (batch-norm
 * running statistics) is averaged the same way.
 *
 * <p>Also owns the seeded views of the recipe: the student trains on one perturbed view of the batch, the teacher
 * predicts on another.
 */
public final class MeanTeacher implements AutoCloseable {
    /** Prefix of the EMA arrays in a checkpoint. */
    public static final String PREFIX = "ema:";

    private final NDManager manager;
    private final FeatureBlock block;
    private final Map<String, NDArray> parameters = new LinkedHashMap<>();
    private final Shape inputShape;
    private final double decay;
    private final boolean warmup;
    private final double weight;
    private final long rampSteps;
    private final double temperature;
    private final Augmenter augmenter;
    private final String teacherSetting;

    /** Builds the teacher as an exact copy of {@code student} (whose parameters are initialised). */
    public MeanTeacher(NDManager parent, Architecture architecture, FeatureBlock student, StepSettings config) {
        this.manager = parent.newSubManager();
        this.block = architecture.newBlock();
        List<Integer> dims = architecture.inputShape();
        long[] withBatch = new long[dims.size() + 1];
        withBatch[0] = 1;
        for (int i = 0; i < dims.size(); i++) {
            withBatch[i + 1] = dims.get(i);
        }
        block.initialize(manager, DataType.FLOAT32, new Shape(withBatch));
        this.inputShape = new Shape(java.util.Arrays.copyOfRange(withBatch, 1, withBatch.length));
        for (Pair<String, Parameter> p : block.getParameters()) {
            parameters.put(p.getKey(), p.getValue().getArray());
        }
        copyFrom(student);
        this.decay = config.emaDecay();
        this.warmup = config.emaWarmup();
        this.weight = config.consistencyWeight();
        this.rampSteps = config.consistencyRampupSteps();
        this.temperature = config.consistencyTemperature();
        this.teacherSetting = config.teacherSetting();
        // an image [C, H, W] or [H, W]; any other shape (e.g. a flat vector of an mlp: student) is one row of values
        int channels = dims.size() == 3 ? dims.get(0) : 1;
        boolean image = dims.size() == 2 || dims.size() == 3;
        int height = image ? dims.get(dims.size() - 2) : 1;
        int width = image ? dims.get(dims.size() - 1) : architecture.inputSize();
        this.augmenter = new Augmenter(channels, height, width, config.augmentNoiseStd(), config.augmentShiftPixels(), config.seed());
    }

    /**
     * The decay used by the update after step {@code step} (from 0): {@code τ}, or with warm-up
     * {@code min(τ, 1 − 1/(step + 1))}, which makes the first teacher a copy of the student and lets later ones
     * average over all steps so far until that average is longer than the EMA's horizon.
     */
    public static double decayAt(double decay, boolean warmup, long step) {
        return warmup ? Math.min(decay, 1.0 - 1.0 / (step + 1.0)) : decay;
    }

    /** The weight of the consistency term at {@code step}. */
    public double weightAt(long step) {
        return Consistency.weightAt(weight, rampSteps, step);
    }

    /** The consistency term between the student's logits and the teacher's. */
    public NDArray loss(NDArray studentLogits, NDArray teacherLogits) {
        return Consistency.loss(studentLogits, teacherLogits, temperature);
    }

    /** The student's perturbed view of the {@code n} inputs of step {@code step}. */
    public float[] studentView(float[] inputs, int n, long step) {
        return augmenter.view(inputs, n, step, Augmenter.STUDENT_VIEW);
    }

    /** The teacher's logits, in inference mode, on its own perturbed view of the inputs; arrays live in {@code scope}. */
    public NDArray teacherLogits(NDManager scope, float[] inputs, int n, long step) {
        float[] view = augmenter.view(inputs, n, step, Augmenter.TEACHER_VIEW);
        NDArray x = scope.create(view, new Shape(n).addAll(inputShape));
        return block.forward(new ParameterStore(scope, false), new NDList(x), false).get(0).stopGradient();
    }

    /** Moves the teacher towards {@code student} after step {@code step}. Call with gradient recording off. */
    public void update(FeatureBlock student, long step) {
        float tau = (float) decayAt(decay, warmup, step);
        try (NDManager scope = manager.newSubManager()) {
            for (Pair<String, Parameter> p : student.getParameters()) {
                NDArray target = parameters.get(p.getKey());
                NDArray source = p.getValue().getArray();
                NDArray contribution = source.mul(1f - tau);
                contribution.attach(scope);
                target.muli(tau).addi(contribution);
            }
        }
    }

    /** Every EMA array, named {@code ema:<parameter>}, for a checkpoint. */
    public void snapshot(Map<String, float[]> arrays, Map<String, long[]> shapes) {
        parameters.forEach((k, v) -> {
            arrays.put(PREFIX + k, v.toFloatArray());
            shapes.put(PREFIX + k, v.getShape().getShape());
        });
    }

    /** Restores the arrays of {@link #snapshot}; every parameter must be present. */
    public void restore(Map<String, float[]> arrays) {
        for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
            float[] v = arrays.get(PREFIX + e.getKey());
            if (v == null || v.length != e.getValue().size()) {
                throw new KdException("The checkpoint holds no EMA teacher array " + PREFIX + e.getKey() + " of the right size; "
                        + "it was written by a run without an EMA teacher (this run has " + teacherSetting + ")");
            }
            e.getValue().set(v);
        }
    }

    /**
     * Top-1 accuracy of the teacher on {@code labels}, and the fraction of inputs where its top-1 agrees with the
     * student's, both in inference mode on the unperturbed inputs.
     */
    public double[] evaluate(float[] inputs, int[] labels, int batchSize, FeatureBlock student) {
        int n = labels.length;
        int size = Math.toIntExact(inputShape.size());
        long correct = 0;
        long agree = 0;
        for (int start = 0; start < n; start += batchSize) {
            int m = Math.min(batchSize, n - start);
            try (NDManager scope = manager.newSubManager()) {
                float[] slice = java.util.Arrays.copyOfRange(inputs, start * size, (start + m) * size);
                NDArray x = scope.create(slice, new Shape(m).addAll(inputShape));
                long[] teacher = block.forward(new ParameterStore(scope, false), new NDList(x), false).get(0).argMax(1).toLongArray();
                long[] pupil = student.forward(new ParameterStore(scope, false), new NDList(x), false).get(0).argMax(1).toLongArray();
                for (int i = 0; i < m; i++) {
                    if (teacher[i] == labels[start + i]) {
                        correct++;
                    }
                    if (teacher[i] == pupil[i]) {
                        agree++;
                    }
                }
            }
        }
        return new double[] {n == 0 ? 0 : correct / (double) n, n == 0 ? 0 : agree / (double) n};
    }

    /** The teacher's network (read-only use). */
    FeatureBlock block() {
        return block;
    }

    private void copyFrom(FeatureBlock student) {
        for (Pair<String, Parameter> p : student.getParameters()) {
            NDArray target = parameters.get(p.getKey());
            if (target == null) {
                throw new IllegalStateException("the EMA teacher has no parameter " + p.getKey());
            }
            target.set(p.getValue().getArray().toFloatArray());
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
