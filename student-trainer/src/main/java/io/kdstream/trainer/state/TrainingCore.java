package io.kdstream.trainer.state;

import io.kdstream.core.zoo.Architecture;
import io.kdstream.core.zoo.FeatureBlock;
import io.kdstream.core.zoo.FeatureSpec;
import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.loss.DistillationLoss;
import io.kdstream.trainer.loss.FeatureDescriptor;
import io.kdstream.trainer.loss.FeatureKd;
import io.kdstream.trainer.loss.FeaturePair;
import io.kdstream.trainer.loss.KlDirection;
import io.kdstream.trainer.loss.LearnableTemperature;
import io.kdstream.trainer.loss.Losses;
import io.kdstream.trainer.loss.Schedule;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.jni.JniUtils;
import io.kdstream.core.djl.NativeWarnings;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The student, its optional distillation state (feature adapters, learnable temperature) and the optimizer, and one
 * training step over a {@link Batch}. Owns one long-lived manager for all of it; every array of a step lives in a
 * per-step sub-manager closed when the step ends.
 */
public final class TrainingCore implements AutoCloseable {
    private static final org.slf4j.Logger LOGGER = org.slf4j.LoggerFactory.getLogger(TrainingCore.class);
    /** Recomputations of a step whose TorchScript backward returned a non-finite gradient (see {@link #step}). */
    static final int LOADED_MODULE_RETRIES = 3;

    /**
     * Serialises gradient recording between the trainers of one process (DJL's PyTorch engine allows one collecting
     * {@link GradientCollector} per process): several trainers, e.g. the members of a group started in one JVM, then
     * train concurrently and take turns for the forward and backward pass. Fair, so no trainer starves.
     */
    private static final java.util.concurrent.locks.ReentrantLock RECORDING = new java.util.concurrent.locks.ReentrantLock(true);

    private static final ai.djl.ndarray.index.NDIndex ALL = new ai.djl.ndarray.index.NDIndex("...");

    private final StepSettings config;
    private final Architecture architecture;
    private final NDManager manager;
    private final FeatureBlock block;
    private final Map<String, NDArray> trainables = new LinkedHashMap<>();
    /** Direct buffers the step fills and the engine wraps without another copy (one set per trainer). */
    private final StagingBuffers staging = new StagingBuffers();
    private final Optimizer optimizer;
    private long recomputedSteps;
    private final LearnableTemperature temperature;
    private final Schedule temperatureSchedule;
    private final Schedule alphaSchedule;
    private final Schedule learningRate;
    private final KlDirection direction;
    /** The logit distillation term ({@code kd.loss}). */
    private final DistillationLoss kdTerm;
    private final Shape inputShape;
    private FeatureKd featureKd;
    /** The EMA teacher, or null; its arrays are kept apart from {@link #trainables}. */
    private final MeanTeacher meanTeacher;
    private Map<String, float[]> pendingAdapterValues = Map.of();

    /** What one step did. */
    public record StepOutcome(boolean applied, double taskLoss, double kdLoss, double featureLoss, double totalLoss,
                              double temperature, double alpha, double learningRate, long forwardBackwardNanos,
                              long optimizerNanos) {
    }

    public TrainingCore(StepSettings config, Architecture architecture) {
        noGrad();
        this.config = config;
        this.architecture = architecture;
        this.manager = NDManager.newBaseManager();
        this.block = architecture.newBlock();
        long[] dims = new long[architecture.inputShape().size() + 1];
        dims[0] = 1;
        for (int i = 0; i < architecture.inputShape().size(); i++) {
            dims[i + 1] = architecture.inputShape().get(i);
        }
        block.initialize(manager, DataType.FLOAT32, new Shape(dims));
        initialiseParameters(config.seed());
        this.inputShape = new Shape(java.util.Arrays.copyOfRange(dims, 1, dims.length));
        this.optimizer = new Optimizer("sgd".equals(config.optimizer()) ? Optimizer.Kind.SGD : Optimizer.Kind.ADAM,
                config.momentum(), manager);
        this.temperatureSchedule = config.temperature();
        this.alphaSchedule = config.alpha();
        this.learningRate = config.learningRate();
        this.direction = config.klDirection();
        this.kdTerm = config.distillationLoss();
        if (config.teacherStream() && config.ctkdEnabled()) {
            temperature = LearnableTemperature.create(manager, temperatureSchedule.valueAt(0), config.ctkdMin(), config.ctkdMax(),
                    config.ctkdLambdaMax(), config.ctkdRampSteps(), config.ctkdAnchorWeight());
            trainables.put("temperature", temperature.parameter());
        } else {
            temperature = null;
        }
        this.meanTeacher = config.teacherEma() ? new MeanTeacher(manager, architecture, block, config) : null;
    }

    /** Deterministic He-uniform weights and zero biases from {@code seed}, independent of the engine's generator. */
    private void initialiseParameters(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        for (Pair<String, Parameter> p : block.getParameters()) {
            NDArray a = p.getValue().getArray();
            if (architecture.loadedModule()) {
                // a loaded module starts from the values it was saved with
                if (p.getValue().requiresGradient()) {
                    a.setRequiresGradient(true);
                    trainables.put("param:" + p.getKey(), a);
                }
                continue;
            }
            long[] shape = a.getShape().getShape();
            float[] values = new float[Math.toIntExact(a.size())];
            if (p.getValue().getType() == Parameter.Type.WEIGHT && shape.length >= 2) {
                long fanIn = 1;
                for (int d = 1; d < shape.length; d++) {
                    fanIn *= shape[d];
                }
                double bound = Math.sqrt(6.0 / fanIn);
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
                }
            }
            Parameter.Type type = p.getValue().getType();
            if (type == Parameter.Type.GAMMA || type == Parameter.Type.RUNNING_VAR) {
                java.util.Arrays.fill(values, 1f);
            }
            a.set(values);
            if (p.getValue().requiresGradient()) {
                a.setRequiresGradient(true);
                trainables.put("param:" + p.getKey(), a);
            }
        }
    }

    public FeatureBlock block() {
        return block;
    }

    /** The EMA (mean) teacher's network, when the run has one ({@code trainer.teacher=ema|stream+ema}). */
    public java.util.Optional<FeatureBlock> emaBlock() {
        return meanTeacher == null ? java.util.Optional.empty() : java.util.Optional.of(meanTeacher.block());
    }

    public Architecture architecture() {
        return architecture;
    }

    public long optimizerUpdates() {
        return optimizer.updates();
    }

    /** The current (learnt or scheduled) temperature at {@code step}. */
    public double temperatureAt(long step) {
        return temperature != null ? temperature.current() : temperatureSchedule.valueAt(step);
    }

    /**
     * Creates the feature adapters once the teacher's feature maps are known (from the first record), pairing them with
     * the student's declared features by stride.
     */
    public void ensureFeatureKd(List<FeatureDescriptor> teacherFeatures) {
        noGrad();
        if (featureKd != null || teacherFeatures == null || config.featureWeight() <= 0) {
            return;
        }
        List<FeatureDescriptor> student = new ArrayList<>();
        for (FeatureSpec f : architecture.features()) {
            if (f.shape().size() == 1 || f.shape().size() == 3) {
                student.add(new FeatureDescriptor(f.name(), f.stride(), f.shape()));
            }
        }
        List<FeaturePair> pairs = FeaturePair.byStride(student, teacherFeatures);
        featureKd = FeatureKd.create(manager, pairs, config.featureDistance(), config.featureNormalize(), config.seed() ^ 0x5EEDL);
        for (Map.Entry<String, NDArray> e : featureKd.adapters().entrySet()) {
            float[] restored = pendingAdapterValues.get("adapter:" + e.getKey());
            if (restored != null) {
                e.getValue().set(restored);
            }
            trainables.put("adapter:" + e.getKey(), e.getValue());
        }
    }

    /**
     * One step; a non-finite loss, or a finite loss with a non-finite gradient, is reported with {@code applied == false}
     * and changes nothing. The batch's teacher feature descriptors (if any) set up the feature adapters on the first
     * step that carries them.
     */
    public StepOutcome step(Batch batch, long stepIndex) {
        List<FeatureDescriptor> teacherFeatures = batch.featureDescriptors();
        if (teacherFeatures != null) {
            ensureFeatureKd(teacherFeatures);
        }
        StepOutcome outcome = attempt(batch, stepIndex, teacherFeatures);
        // A TorchScript module's backward on this engine version (libtorch 2.7.1, CPU) now and then returns a NaN or
        // infinite gradient for a finite loss, at random: the same step on the same weights and inputs is fine when
        // computed again. Nothing was applied, so the step is recomputed (same inputs, same dropout seed); a success
        // is bit for bit what a clean first attempt gives, so replays stay exact. A zoo or spec student's non-finite
        // gradient is a property of the data and weights and is skipped at once.
        for (int retry = 1; architecture.loadedModule() && retry <= LOADED_MODULE_RETRIES && !outcome.applied()
                && Double.isFinite(outcome.totalLoss()); retry++) {
            LOGGER.info("Step {}: non-finite gradient for a finite loss ({}) from the TorchScript module; recomputing "
                    + "the step (attempt {} of {})", stepIndex + 1, outcome.totalLoss(), retry + 1, LOADED_MODULE_RETRIES + 1);
            recomputedSteps++;
            outcome = attempt(batch, stepIndex, teacherFeatures);
        }
        return outcome;
    }

    /** Steps recomputed after a TorchScript module returned a non-finite gradient for a finite loss. */
    public long recomputedSteps() {
        return recomputedSteps;
    }

    private StepOutcome attempt(Batch batch, long stepIndex, List<FeatureDescriptor> teacherFeatures) {
        double t = temperatureSchedule.valueAt(stepIndex);
        double consistencyWeight = meanTeacher != null ? meanTeacher.weightAt(stepIndex) : 0.0;
        double alpha = alphaAt(stepIndex, consistencyWeight);
        double lr = learningRate.valueAt(stepIndex);
        int n = batch.size();
        noGrad();
        try (NDManager scope = manager.newSubManager()) {
            long t0 = System.nanoTime();
            NDArray emaLogits = meanTeacher == null ? null : meanTeacher.teacherLogits(scope, batch.inputs(), n, stepIndex);
            float[] inputs = meanTeacher == null ? batch.inputs() : meanTeacher.studentView(batch.inputs(), n, stepIndex);
            NDArray x = staging.floats(scope, "inputs", inputs, new Shape(n).addAll(inputShape));
            NDArray mask = labelMask(scope, batch.labels());
            // [n, 1] INT64: the index the task term gathers with, no conversion in the engine
            NDArray y = staging.longs(scope, "labels", mask == null ? batch.labels() : labelsOrZero(batch.labels()),
                    new Shape(n, 1));
            double task;
            double kd = 0;
            double feat = 0;
            double total;
            boolean finite;
            double usedT = temperature != null ? temperature.current() : t;
            RECORDING.lock(); // DJL's PyTorch engine records gradients for one collector per process at a time
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                if (architecture.loadedModule()) {
                    // dropout in the module draws from the engine's global generator: seeded per step, under the lock
                    Engine.getInstance().setRandomSeed(forwardSeed(config.seed(), stepIndex));
                }
                NDList out = block.forward(new ParameterStore(scope, false), new NDList(x), true);
                NDArray logits = out.get(0);
                NDArray taskLoss = mask == null ? Losses.crossEntropy(logits, y)
                        : Losses.crossEntropy(logits, y, mask, batch.labelled());
                Terms terms = config.teacherStream()
                        ? streamTerms(scope, batch, out, taskLoss, new Targets(mask, y), t, alpha, stepIndex, teacherFeatures)
                        : new Terms(taskLoss, null, null);
                if (meanTeacher != null) {
                    terms = withConsistency(terms, taskLoss, meanTeacher.loss(logits, emaLogits), consistencyWeight);
                }
                NDArray totalLoss = terms.total();
                NDArray kdLoss = terms.kd();
                NDArray featureLoss = terms.feature();
                task = taskLoss.getFloat();
                kd = valueOrZero(kdLoss);
                feat = valueOrZero(featureLoss);
                total = totalLoss.getFloat();
                finite = Double.isFinite(total);
                if (finite) {
                    gc.backward(totalLoss);
                }
            } finally {
                RECORDING.unlock();
            }
            long t1 = System.nanoTime();
            if (!finite) {
                return new StepOutcome(false, task, kd, feat, total, usedT, alpha, lr, t1 - t0, 0);
            }
            if (!update(scope, lr, stepIndex)) {
                return new StepOutcome(false, task, kd, feat, total, usedT, alpha, lr, t1 - t0, 0);
            }
            long t2 = System.nanoTime();
            return new StepOutcome(true, task, kd, feat, total, usedT, alpha, lr, t1 - t0, t2 - t1);
        }
    }

    /**
     * The weight of the distillation term at {@code stepIndex}: the α schedule with a stream teacher; with the EMA
     * teacher alone, the consistency weight; 0 for a labels-only run.
     */
    private double alphaAt(long stepIndex, double consistencyWeight) {
        if (config.teacherStream()) {
            return alphaSchedule.valueAt(stepIndex);
        }
        return meanTeacher != null ? consistencyWeight : 0.0;
    }

    private static double valueOrZero(NDArray scalar) {
        return scalar == null ? 0 : scalar.getFloat();
    }

    /** The loss terms of one forward pass: the total, the distillation term and the feature term (null when absent). */
    private record Terms(NDArray total, NDArray kd, NDArray feature) {
    }

    /** The label mask ({@code null} when every example is labelled) and the {@code [n, 1]} label index of a batch. */
    private record Targets(NDArray mask, NDArray labels) {
    }

    /**
     * The terms of the stream teacher: {@code (1 − α)·task + α·KD}, plus the weighted feature term when the run
     * distils feature maps, plus the CTKD regulariser when the temperature is learnt.
     */
    private Terms streamTerms(NDManager scope, Batch batch, NDList out, NDArray taskLoss, Targets targets, double t,
                              double alpha, long stepIndex, List<FeatureDescriptor> teacherFeatures) {
        int n = batch.size();
        NDArray logits = out.get(0);
        NDArray teacher = staging.floats(scope, "teacher", batch.logits(), new Shape(n, architecture.numClasses()));
        NDArray temp = temperature != null ? temperature.forLoss(scope, stepIndex) : scope.create((float) t);
        NDArray kdLoss = kdTerm.compute(new DistillationLoss.Inputs(logits, teacher, temp, t, direction,
                () -> targets.mask() == null ? targets.labels().reshape(n) : scope.create(targetsOrTeacherTop(batch))));
        NDArray totalLoss = Losses.mix(taskLoss, kdLoss, alpha);
        NDArray featureLoss = null;
        if (featureKd != null && batch.features() != null) {
            featureLoss = featureKd.loss(studentMaps(out), teacherMaps(scope, batch, teacherFeatures));
            totalLoss = totalLoss.add(Losses.scale(featureLoss, config.featureWeight()));
        }
        if (temperature != null) {
            NDArray reg = temperature.regularizer(scope);
            if (reg != null) {
                totalLoss = totalLoss.add(reg);
            }
        }
        return new Terms(totalLoss, kdLoss, featureLoss);
    }

    /**
     * Adds the EMA teacher's consistency term: weighted on top of the stream teacher's terms (and counted in the KD
     * loss), or, without a stream teacher, mixed with the task term as the only distillation term.
     */
    private Terms withConsistency(Terms terms, NDArray taskLoss, NDArray consistency, double weight) {
        if (config.teacherStream()) {
            return new Terms(terms.total().add(Losses.scale(consistency, weight)), terms.kd().add(consistency), terms.feature());
        }
        return new Terms(Losses.mix(taskLoss, consistency, weight), consistency, terms.feature());
    }

    /** The student's declared feature maps of a forward pass, by name (outputs after the logits). */
    private Map<String, NDArray> studentMaps(NDList out) {
        Map<String, NDArray> studentMaps = new HashMap<>();
        List<FeatureSpec> specs = architecture.features();
        for (int i = 0; i < specs.size(); i++) {
            studentMaps.put(specs.get(i).name(), out.get(i + 1));
        }
        return studentMaps;
    }

    /** The teacher's feature maps of a batch, by name, as arrays of {@code [n, shape...]}. */
    private Map<String, NDArray> teacherMaps(NDManager scope, Batch batch, List<FeatureDescriptor> teacherFeatures) {
        Map<String, NDArray> teacherMaps = new HashMap<>();
        for (int i = 0; i < teacherFeatures.size(); i++) {
            FeatureDescriptor d = teacherFeatures.get(i);
            teacherMaps.put(d.name(), staging.floats(scope, "feature:" + i, batch.features().get(i),
                    new Shape(batch.size()).addAll(shapeOf(d))));
        }
        return teacherMaps;
    }

    /**
     * Applies the recorded gradients of every trainable array (clipped when configured), then projects the learnt
     * temperature and moves the EMA teacher. Returns false, changing nothing, when a gradient is not finite.
     */
    private boolean update(NDManager scope, double lr, long stepIndex) {
        Map<String, NDArray> grads = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : trainables.entrySet()) {
            NDArray g = e.getValue().getGradient();
            g.attach(scope);
            grads.put(e.getKey(), g);
        }
        if (!allFinite(grads.values())) {
            // a finite loss can still back-propagate to an infinite or NaN gradient; applying it would poison every
            // parameter for the rest of the run, so the batch is skipped like one with a non-finite loss
            clearGradients(grads.values());
            return false;
        }
        if (config.gradClipNorm() > 0) {
            clipGlobalNorm(grads.values(), config.gradClipNorm());
        }
        optimizer.step(trainables, grads, lr);
        if (temperature != null) {
            temperature.project();
        }
        clearGradients(grads.values());
        if (meanTeacher != null) {
            meanTeacher.update(block, stepIndex);
        }
        return true;
    }

    /** The engine seed of the training forward of step {@code stepIndex}: a fixed mix of the run's seed and the step. */
    static int forwardSeed(long seed, long stepIndex) {
        long z = seed * 0x9E3779B97F4A7C15L + stepIndex;
        z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
        z ^= z >>> 33;
        return (int) (z & 0x7FFFFFFF);
    }

    /**
     * Sets every gradient to zero for the next backward pass to accumulate into. A fill, not {@code g − g}: that
     * leaves NaN and infinite entries NaN, and a skipped non-finite gradient would then poison every later step.
     */
    static void clearGradients(Iterable<NDArray> grads) {
        for (NDArray g : grads) {
            g.set(ALL, 0f);
        }
    }

    /**
     * Scales every gradient by {@code maxNorm / ‖g‖} when the global L2 norm {@code ‖g‖} over all of them exceeds
     * {@code maxNorm}; the norm is summed in double in the iteration order, so the result is deterministic.
     *
     * @return the global norm before clipping
     */
    static double clipGlobalNorm(Iterable<NDArray> grads, double maxNorm) {
        double sumSquares = 0;
        for (NDArray g : grads) {
            try (NDArray sq = g.square(); NDArray sum = sq.sum()) {
                sumSquares += sum.getFloat();
            }
        }
        double norm = Math.sqrt(sumSquares);
        if (norm > maxNorm) {
            float scale = (float) (maxNorm / norm);
            for (NDArray g : grads) {
                g.muli(scale);
            }
        }
        return norm;
    }

    /**
     * Whether every element of every array is finite. One reduction per array: the largest magnitude is finite exactly
     * when every element is (the engine's max propagates NaN), three engine calls instead of five.
     */
    static boolean allFinite(Iterable<NDArray> arrays) {
        for (NDArray a : arrays) {
            if (a.size() == 0) {
                continue;
            }
            try (NDArray abs = a.abs(); NDArray max = abs.max()) {
                if (!Float.isFinite(max.getFloat())) {
                    return false;
                }
            }
        }
        return true;
    }

    /** A 1/0 mask of the labelled examples, {@code [n, 1]}, or null when every example has a label. */
    private NDArray labelMask(NDManager scope, int[] labels) {
        float[] mask = null;
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0) {
                if (mask == null) {
                    mask = new float[labels.length];
                    java.util.Arrays.fill(mask, 1f);
                }
                mask[i] = 0f;
            }
        }
        return mask == null ? null : staging.floats(scope, "mask", mask, new Shape(labels.length, 1));
    }

    /**
     * The classes DKD splits on: the label where there is one, the teacher's top class for an unlabelled example (ties
     * go to the lowest index), so an unlabelled record decouples around what the teacher believes.
     */
    static int[] targetsOrTeacherTop(Batch batch) {
        int[] labels = batch.labels();
        float[] logits = batch.logits();
        int classes = logits.length / labels.length;
        int[] out = labels.clone();
        for (int i = 0; i < out.length; i++) {
            if (out[i] < 0) {
                int best = 0;
                for (int c = 1; c < classes; c++) {
                    if (logits[i * classes + c] > logits[i * classes + best]) {
                        best = c;
                    }
                }
                out[i] = best;
            }
        }
        return out;
    }

    /** The labels with every unlabelled entry (negative) replaced by class 0, which the mask then ignores. */
    private static int[] labelsOrZero(int[] labels) {
        int[] out = labels.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.max(0, out[i]);
        }
        return out;
    }

    /** EMA-teacher accuracy and its top-1 agreement with the student, or null without an EMA teacher. */
    public double[] evaluateEma(float[] inputs, int[] labels, int batchSize) {
        noGrad();
        return meanTeacher == null ? null : meanTeacher.evaluate(inputs, labels, batchSize, block);
    }

    /**
     * PyTorch keeps gradient recording per thread, on by default; the engine turns it off only on the thread that
     * loaded it. In-place parameter updates on a thread where it is on would be recorded (and refused for leaf
     * arrays), so every entry point turns it off on the calling thread; the gradient collector turns it on for the
     * forward and backward pass and restores it.
     */
    private static void noGrad() {
        Engine.getInstance(); // loads the native library before the first native call
        NativeWarnings.absorb();
        if (JniUtils.isGradMode()) {
            JniUtils.setGradMode(false);
        }
    }

    private static Shape shapeOf(FeatureDescriptor d) {
        long[] dims = new long[d.shape().size()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = d.shape().get(i);
        }
        return new Shape(dims);
    }

    /** Top-1 predictions and summed cross-entropy over {@code n} inputs, evaluated in inference mode. */
    public double[] evaluate(float[] inputs, int[] labels, int batchSize) {
        noGrad();
        int n = labels.length;
        int size = Math.toIntExact(inputShape.size());
        long correct = 0;
        double lossSum = 0;
        for (int start = 0; start < n; start += batchSize) {
            int m = Math.min(batchSize, n - start);
            try (NDManager scope = manager.newSubManager()) {
                float[] slice = java.util.Arrays.copyOfRange(inputs, start * size, (start + m) * size);
                NDArray x = scope.create(slice, new Shape(m).addAll(inputShape));
                NDArray y = scope.create(java.util.Arrays.copyOfRange(labels, start, start + m));
                NDArray logits = block.forward(new ParameterStore(scope, false), new NDList(x), false).get(0);
                lossSum += Losses.crossEntropy(logits, y).getFloat() * m;
                long[] pred = logits.argMax(1).toLongArray();
                for (int i = 0; i < m; i++) {
                    if (pred[i] == labels[start + i]) {
                        correct++;
                    }
                }
            }
        }
        return new double[] {n == 0 ? 0 : correct / (double) n, n == 0 ? 0 : lossSum / n};
    }

    /** Every trainable array and optimizer state as float data, for a checkpoint. */
    public Map<String, float[]> snapshot(Map<String, long[]> shapesOut) {
        Map<String, float[]> out = new LinkedHashMap<>();
        trainables.forEach((k, v) -> {
            out.put(k, v.toFloatArray());
            shapesOut.put(k, v.getShape().getShape());
        });
        optimizer.state().forEach((k, v) -> {
            out.put(k, v.toFloatArray());
            shapesOut.put(k, v.getShape().getShape());
        });
        if (meanTeacher != null) {
            meanTeacher.snapshot(out, shapesOut);
        }
        return out;
    }

    /** Restores a {@link #snapshot}; adapters are restored when they are created. */
    public void restore(Map<String, float[]> arrays, Map<String, long[]> shapes, long optimizerUpdates) {
        noGrad();
        Map<String, float[]> state = new LinkedHashMap<>();
        Map<String, long[]> stateShapes = new HashMap<>();
        Map<String, float[]> adapters = new HashMap<>();
        arrays.forEach((k, v) -> {
            if (k.startsWith("m:") || k.startsWith("v:")) {
                state.put(k, v);
                stateShapes.put(k, shapes.get(k));
            } else if (k.startsWith("adapter:")) {
                adapters.put(k, v);
            } else if (k.startsWith(MeanTeacher.PREFIX)) {
                if (meanTeacher == null) {
                    throw new io.kdstream.core.KdException("Checkpoint array " + k + " belongs to an EMA teacher, which "
                            + config.teacherSetting() + " does not have");
                }
            } else {
                NDArray target = trainables.get(k);
                if (target == null || target.size() != v.length) {
                    throw new io.kdstream.core.KdException("Checkpoint array " + k + " does not fit the model "
                            + architecture.name() + "; was it written by another architecture?");
                }
                target.set(v);
            }
        });
        pendingAdapterValues = adapters;
        if (meanTeacher != null) {
            meanTeacher.restore(arrays);
        }
        optimizer.restore(state, stateShapes, optimizerUpdates);
    }

    /** The trainable arrays alone (no optimizer state), in their fixed order: what a trainer group averages. */
    public Map<String, float[]> parameters() {
        Map<String, float[]> out = new LinkedHashMap<>();
        trainables.forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }

    /** Overwrites trainable arrays from {@link #parameters()}; optimizer state is left as it is. */
    public void loadParameters(Map<String, float[]> values) {
        noGrad();
        values.forEach((k, v) -> {
            NDArray target = trainables.get(k);
            if (target == null || target.size() != v.length) {
                throw new io.kdstream.core.KdException("Parameter " + k + " does not fit the model " + architecture.name());
            }
            target.set(v);
        });
    }

    /** Arrays alive in the run's manager and its sub-managers (a leak check: flat from step to step). */
    int liveArrays() {
        return manager.getManagedArrays().size();
    }

    @Override
    public void close() {
        manager.close();
    }
}
