package io.kdstream.teacher.serve.internals;

import io.kdstream.avro.DType;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.FeatureMap;
import io.kdstream.avro.InputRecord;
import io.kdstream.avro.SourceCoordinates;
import io.kdstream.avro.Tensor;
import io.kdstream.avro.TeacherInfo;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.core.KdException;
import io.kdstream.core.djl.TensorBridge;
import io.kdstream.core.kafka.DeadLetterPublisher;
import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.zoo.FeatureSpec;
import io.kdstream.schemas.serde.KdSerializationException;
import io.kdstream.schemas.tensor.InvalidTensorException;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.teacher.BatchOutput;
import io.kdstream.teacher.TeacherPredictor;
import io.kdstream.teacher.serve.OutputEncoding;
import io.kdstream.teacher.serve.OutputOptions;
import io.kdstream.teacher.serve.TeacherViews;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The pure part of the teacher's consume-transform-produce step: decodes and checks inputs, runs batched inference
 * and builds one {@link TeacherOutput} per good input and one {@link Failure} per bad one (undecodable bytes, unknown
 * schema, wrong shape or dtype, non-finite pixels, a model failure, non-finite teacher outputs). Never throws for a
 * bad record; a transient failure (registry unreachable) propagates so the transaction is retried. One per worker.
 */
public final class BatchTransformer implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(BatchTransformer.class);

    /** A good input and the output computed for it. */
    public record Produced(ConsumerRecord<byte[], byte[]> source, TeacherOutput output) {
    }

    /** A bad input, why, and how it is classified. */
    public record Failure(ConsumerRecord<byte[], byte[]> source, FailureKind kind, String message, Throwable cause) {
    }

    /**
     * What a list of records became.
     *
     * @param outputs    in input order
     * @param failures   in input order
     * @param batchSizes sizes of the inference batches run
     */
    public record Result(List<Produced> outputs, List<Failure> failures, int[] batchSizes) {
    }

    private final ModelMetadata model;
    private final TeacherInfo teacherInfo;
    private final TeacherPredictor predictor;
    private final OutputOptions options;
    private final Deserializer<InputRecord> deserializer;
    private final int maxBatch;
    private final Clock clock;
    private final int[] selectedFeatures;
    private final TeacherViews views;
    private final float[] original;
    /** Two slots when inference is pipelined (one fills while the other is scored), else one. */
    private final Slot[] slots;
    /** Where the outputs of each finished batch go during {@link #transform}, or null. */
    private java.util.function.Consumer<List<Produced>> onBatch;
    /** The thread that runs inference when pipelined, else null (inference on the caller's thread). */
    private final ExecutorService inference;

    /** One inference batch being filled or scored: the model inputs and what each row came from. */
    private static final class Slot {
        final float[] buffer;
        final List<ConsumerRecord<byte[], byte[]>> records;
        final List<InputRecord> inputs;
        final List<TeacherViews.View> views;

        Slot(int maxBatch, int inputSize) {
            buffer = new float[maxBatch * inputSize];
            records = new ArrayList<>(maxBatch);
            inputs = new ArrayList<>(maxBatch);
            views = new ArrayList<>(maxBatch);
        }

        int size() {
            return records.size();
        }

        void clear() {
            records.clear();
            inputs.clear();
            views.clear();
        }
    }

    /** A slot handed to inference and the result to come. */
    private record Scoring(Slot slot, Future<BatchOutput> result) {
    }

    public BatchTransformer(ModelMetadata model, TeacherInfo teacherInfo, TeacherPredictor predictor,
            OutputOptions options, Deserializer<InputRecord> deserializer, int maxBatch, Clock clock) {
        this(model, teacherInfo, predictor, options, deserializer, maxBatch, clock, TeacherViews.NONE);
    }

    /**
     * As above, publishing {@code views.count()} teacher-labelled views per input (all of one input in the same
     * inference batch, so an input is published whole or dead-lettered once).
     */
    public BatchTransformer(ModelMetadata model, TeacherInfo teacherInfo, TeacherPredictor predictor,
            OutputOptions options, Deserializer<InputRecord> deserializer, int maxBatch, Clock clock, TeacherViews views) {
        this(model, teacherInfo, predictor, options, deserializer, maxBatch, clock, views, null);
    }

    /**
     * As above; with {@code pipelineThreadName} (not null) inference runs on a thread of that name while the caller
     * decodes the next batch and encodes the previous one (double-buffered batches). The outputs are the same, in the
     * same order; {@link #close()} stops the thread.
     */
    public BatchTransformer(ModelMetadata model, TeacherInfo teacherInfo, TeacherPredictor predictor,
            OutputOptions options, Deserializer<InputRecord> deserializer, int maxBatch, Clock clock, TeacherViews views,
            String pipelineThreadName) {
        this.views = Objects.requireNonNull(views, "views");
        if (views.enabled() && (model.inputShape().size() != 3 || maxBatch < views.count() || !options.includeInput())) {
            throw new KdException(views.count() + " views per input need an image model (input [c, h, w], this one takes "
                    + model.inputShape() + "), a batch of at least " + views.count() + " (got " + maxBatch
                    + ") and the input copied into every output (the view is what the student trains on)");
        }
        this.original = new float[model.inputSize()];
        this.model = Objects.requireNonNull(model, "model");
        this.teacherInfo = Objects.requireNonNull(teacherInfo, "teacherInfo");
        this.predictor = Objects.requireNonNull(predictor, "predictor");
        this.options = Objects.requireNonNull(options, "options");
        this.deserializer = Objects.requireNonNull(deserializer, "deserializer");
        this.maxBatch = maxBatch;
        this.clock = Objects.requireNonNull(clock, "clock");
        this.selectedFeatures = options.features().select(model.features());
        boolean pipelined = pipelineThreadName != null;
        this.slots = new Slot[pipelined ? 2 : 1];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new Slot(maxBatch, model.inputSize());
        }
        this.inference = pipelined ? Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, pipelineThreadName);
            t.setDaemon(true);
            return t;
        }) : null;
        if (options.topK() >= model.numClasses()) {
            throw new KdException("teacher.logits.topk=" + options.topK() + " must be smaller than the model's "
                    + model.numClasses() + " classes");
        }
    }

    /**
     * Decodes, scores and encodes {@code records}. When pipelined, batch k is scored while batch k + 1 is decoded and
     * batch k − 1 encoded; the inference batches are the same as without the pipeline.
     */
    public Result transform(List<ConsumerRecord<byte[], byte[]>> records) {
        return transform(records, null);
    }

    /**
     * As {@link #transform(List)}, handing each inference batch's outputs to {@code onBatch} as soon as they are built
     * (so that they can be sent while the next batch is scored); the result still holds them all.
     */
    public Result transform(List<ConsumerRecord<byte[], byte[]>> records, java.util.function.Consumer<List<Produced>> onBatch) {
        this.onBatch = onBatch;
        List<Produced> outputs = new ArrayList<>(records.size());
        List<Failure> failures = new ArrayList<>();
        List<Integer> batchSizes = new ArrayList<>();
        int inputSize = model.inputSize();
        Slot current = slots[0];
        Scoring scoring = null;
        try {
            for (ConsumerRecord<byte[], byte[]> record : records) {
                InputRecord input = decode(record, failures);
                if (input == null) {
                    continue;
                }
                if (current.size() + views.count() > maxBatch) {
                    scoring = dispatch(current, scoring, outputs, failures, batchSizes);
                    current = next(current);
                }
                try {
                    checkInput(input.getInput());
                    if (views.enabled()) {
                        TensorBridge.toModelInput("input", input.getInput(), inputSize, original, 0);
                    } else {
                        TensorBridge.toModelInput("input", input.getInput(), inputSize, current.buffer, current.size() * inputSize);
                    }
                } catch (InvalidTensorException e) {
                    failures.add(new Failure(record, DeadLetterPublisher.kindOf(e), "input " + input.getId() + ": " + e.getMessage(), e));
                    continue;
                } catch (BadInput e) {
                    failures.add(new Failure(record, e.kind, "input " + input.getId() + ": " + e.getMessage(), e));
                    continue;
                }
                for (int k = 0; k < views.count(); k++) {
                    TeacherViews.View view = views.view(input.getId(), k);
                    if (views.enabled()) {
                        List<Integer> chw = model.inputShape();
                        view.apply(original, chw.get(0), chw.get(1), chw.get(2), current.buffer, current.size() * inputSize);
                    }
                    current.records.add(record);
                    current.inputs.add(input);
                    current.views.add(view);
                }
                if (current.size() == maxBatch) {
                    scoring = dispatch(current, scoring, outputs, failures, batchSizes);
                    current = next(current);
                }
            }
            if (current.size() > 0) {
                scoring = dispatch(current, scoring, outputs, failures, batchSizes);
            }
            if (scoring != null) {
                finish(scoring, outputs, failures);
                scoring = null;
            }
        } finally {
            if (scoring != null) { // an exception left a batch in flight: let it end before the slots are reused
                awaitQuietly(scoring.result());
            }
            for (Slot slot : slots) {
                slot.clear();
            }
        }
        return new Result(outputs, failures, batchSizes.stream().mapToInt(Integer::intValue).toArray());
    }

    /** Stops the inference thread, if any. */
    @Override
    public void close() {
        if (inference != null) {
            inference.shutdownNow();
        }
    }

    private Slot next(Slot slot) {
        return slots.length == 1 ? slot : slots[slot == slots[0] ? 1 : 0];
    }

    /**
     * Hands {@code slot} to inference; then finishes the batch in flight before it (encoding it while {@code slot} is
     * scored). Returns what is now in flight (nothing when not pipelined: the slot was scored and encoded here).
     */
    private Scoring dispatch(Slot slot, Scoring inFlight, List<Produced> outputs, List<Failure> failures,
            List<Integer> batchSizes) {
        batchSizes.add(slot.size());
        int n = slot.size();
        Scoring submitted = new Scoring(slot, score(slot.buffer, n));
        if (inference == null) {
            finish(submitted, outputs, failures);
            return null;
        }
        if (inFlight != null) {
            try {
                finish(inFlight, outputs, failures);
            } catch (RuntimeException | Error e) {
                awaitQuietly(submitted.result()); // never leave the predictor running under a slot that is reused
                throw e;
            }
        }
        return submitted;
    }

    /** Runs inference on the inference thread when pipelined (queued behind any batch in flight), else here. */
    private Future<BatchOutput> score(float[] buffer, int n) {
        if (inference == null) {
            CompletableFuture<BatchOutput> done = new CompletableFuture<>();
            try {
                done.complete(predictor.predict(buffer, n));
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
            return done;
        }
        return inference.submit(() -> predictor.predict(buffer, n));
    }

    private static BatchOutput await(Future<BatchOutput> result) {
        try {
            return result.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KdException("Interrupted while waiting for teacher inference", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new KdException("Teacher inference failed: " + e.getCause(), e.getCause());
        }
    }

    private static void awaitQuietly(Future<BatchOutput> result) {
        try {
            result.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | java.util.concurrent.CancellationException e) {
            LOGGER.debug("An abandoned inference batch ended with {}", e.toString());
        }
    }

    private InputRecord decode(ConsumerRecord<byte[], byte[]> record, List<Failure> failures) {
        if (record.value() == null) {
            failures.add(new Failure(record, FailureKind.DESERIALIZATION, "null value (tombstone) where an InputRecord was expected", null));
            return null;
        }
        try {
            InputRecord input = deserializer.deserialize(record.topic(), record.headers(), record.value());
            if (input == null || input.getInput() == null) {
                failures.add(new Failure(record, FailureKind.DESERIALIZATION, "no InputRecord in the value", null));
                return null;
            }
            return input;
        } catch (KdSerializationException e) {
            failures.add(new Failure(record, e.failureKind(), e.getMessage(), e));
            return null;
        }
    }

    private void checkInput(Tensor t) {
        TensorCodec.validate("input", t);
        DType dtype = t.getDtype();
        if (dtype != DType.UINT8 && dtype != DType.FLOAT32 && dtype != DType.FLOAT16 && dtype != DType.BFLOAT16) {
            throw new BadInput(FailureKind.DTYPE, "dtype " + dtype + " is not an image type (UINT8 or floating)");
        }
        List<Integer> shape = t.getShape();
        List<Integer> expected = model.inputShape();
        boolean matches = shape.equals(expected) || shape.equals(withoutLeadingOnes(expected));
        if (!matches) {
            throw new BadInput(FailureKind.SHAPE, "shape " + shape + " does not match the model input " + expected);
        }
        if (!TensorCodec.allFinite("input", t)) {
            throw new BadInput(FailureKind.NON_FINITE, "pixels contain NaN or infinity");
        }
    }

    private static List<Integer> withoutLeadingOnes(List<Integer> shape) {
        int i = 0;
        while (i < shape.size() - 1 && shape.get(i) == 1) {
            i++;
        }
        return shape.subList(i, shape.size());
    }

    /** Waits for a scored slot and builds its outputs; a failed batch is scored again input by input to find the culprit. */
    private void finish(Scoring scoring, List<Produced> outputs, List<Failure> failures) {
        int before = outputs.size();
        finishInto(scoring, outputs, failures);
        if (onBatch != null && outputs.size() > before) {
            onBatch.accept(outputs.subList(before, outputs.size()));
        }
    }

    private void finishInto(Scoring scoring, List<Produced> outputs, List<Failure> failures) {
        Slot slot = scoring.slot();
        int n = slot.size();
        BatchOutput out;
        try {
            out = await(scoring.result());
        } catch (KdException e) {
            LOGGER.warn("Inference failed on a batch of {}; retrying its inputs one by one: {}", n, e.getMessage());
            runOneByOne(slot, outputs, failures);
            slot.clear();
            return;
        }
        for (int i = 0; i < n; i += views.count()) {
            List<BatchOutput> perView = new ArrayList<>(views.count());
            int[] rows = new int[views.count()];
            for (int k = 0; k < views.count(); k++) {
                perView.add(out);
                rows[k] = i + k;
            }
            emit(slot, slot.records.get(i), slot.inputs.get(i), perView, rows, i, outputs, failures);
        }
        slot.clear();
    }

    private void runOneByOne(Slot slot, List<Produced> outputs, List<Failure> failures) {
        int size = model.inputSize();
        for (int i = 0; i < slot.size(); i += views.count()) {
            List<BatchOutput> perView = new ArrayList<>(views.count());
            try {
                for (int k = 0; k < views.count(); k++) {
                    float[] one = new float[size];
                    System.arraycopy(slot.buffer, (i + k) * size, one, 0, size);
                    perView.add(await(score(one, 1)));
                }
                emit(slot, slot.records.get(i), slot.inputs.get(i), perView, new int[views.count()], i, outputs, failures);
            } catch (KdException e) {
                failures.add(new Failure(slot.records.get(i), FailureKind.MODEL, "input " + slot.inputs.get(i).getId()
                        + ": the model failed: " + e.getMessage(), e));
            }
        }
    }

    /**
     * Builds the outputs of one input, a view each ({@code outs.get(k)} row {@code rows[k]}, batch slot
     * {@code slot + k}); when any view is not finite the input is dead-lettered once and none of its views published.
     */
    private void emit(Slot from, ConsumerRecord<byte[], byte[]> record, InputRecord input, List<BatchOutput> outs, int[] rows,
            int slot, List<Produced> outputs, List<Failure> failures) {
        List<Produced> produced = new ArrayList<>(outs.size());
        for (int k = 0; k < outs.size(); k++) {
            BatchOutput out = outs.get(k);
            int i = rows[k];
            String what = views.enabled() ? "input " + input.getId() + " (view " + k + ")" : "input " + input.getId();
            float[] logits = out.logits(i);
            if (!OutputEncoding.allFinite(logits)) {
                failures.add(new Failure(record, FailureKind.NON_FINITE, what + ": the teacher's logits are not finite", null));
                return;
            }
            List<FeatureMap> features = new ArrayList<>(selectedFeatures.length);
            for (int f : selectedFeatures) {
                float[] values = out.feature(f, i);
                FeatureSpec spec = model.features().get(f);
                if (!OutputEncoding.allFinite(values)) {
                    failures.add(new Failure(record, FailureKind.NON_FINITE, what + ": the teacher's feature " + spec.name()
                            + " is not finite", null));
                    return;
                }
                features.add(OutputEncoding.encodeFeature(spec, values, options.featuresDtype()));
            }
            Map<String, String> attributes = new HashMap<>(input.getAttributes());
            Tensor tensor = input.getInput();
            if (views.enabled()) {
                TeacherViews.View view = from.views.get(slot + k);
                attributes.putAll(view.attributes(views.count()));
                if (!view.identity()) {
                    tensor = TeacherViews.viewTensor(input.getInput(), view, model.inputShape(), from.buffer,
                            (slot + k) * model.inputSize(), model.inputSize());
                }
            }
            TeacherOutput output = TeacherOutput.newBuilder()
                    .setInputId(input.getId())
                    .setInput(options.includeInput() ? tensor : null)
                    .setLabel(options.includeLabel() ? input.getLabel() : null)
                    .setLabels(options.includeLabel() ? input.getLabels() : null)
                    .setTeacher(teacherInfo)
                    .setLogits(OutputEncoding.encodeLogits(logits, options.logitsDtype(), options.topK()))
                    .setFeatures(features)
                    .setSource(new SourceCoordinates(record.topic(), record.partition(), record.offset()))
                    .setProducedAtMs(clock.instant())
                    .setAttributes(attributes)
                    .build();
            produced.add(new Produced(record, output));
        }
        outputs.addAll(produced);
    }

    /** A decoded input the teacher cannot take. */
    private static final class BadInput extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final transient FailureKind kind;

        BadInput(FailureKind kind, String message) {
            super(message, null, false, false);
            this.kind = kind;
        }
    }
}
