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

/**
 * The pure part of the teacher's consume-transform-produce step: decodes and checks inputs, runs batched inference
 * and builds one {@link TeacherOutput} per good input and one {@link Failure} per bad one (undecodable bytes, unknown
 * schema, wrong shape or dtype, non-finite pixels, a model failure, non-finite teacher outputs). Never throws for a
 * bad record; a transient failure (registry unreachable) propagates so the transaction is retried. One per worker.
 */
public final class BatchTransformer {

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
    private final float[] batchBuffer;
    private final TeacherViews views;
    private final float[] original;
    private final List<TeacherViews.View> batchViews = new ArrayList<>();

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
        this.batchBuffer = new float[maxBatch * model.inputSize()];
        if (options.topK() >= model.numClasses()) {
            throw new KdException("teacher.logits.topk=" + options.topK() + " must be smaller than the model's "
                    + model.numClasses() + " classes");
        }
    }

    public Result transform(List<ConsumerRecord<byte[], byte[]>> records) {
        List<Produced> outputs = new ArrayList<>(records.size());
        List<Failure> failures = new ArrayList<>();
        List<Integer> batchSizes = new ArrayList<>();
        List<ConsumerRecord<byte[], byte[]>> batchRecords = new ArrayList<>(maxBatch);
        List<InputRecord> batchInputs = new ArrayList<>(maxBatch);
        int inputSize = model.inputSize();
        for (ConsumerRecord<byte[], byte[]> record : records) {
            InputRecord input = decode(record, failures);
            if (input == null) {
                continue;
            }
            if (batchRecords.size() + views.count() > maxBatch) {
                runBatch(batchRecords, batchInputs, outputs, failures, batchSizes);
            }
            try {
                checkInput(input.getInput());
                if (views.enabled()) {
                    TensorBridge.toModelInput("input", input.getInput(), inputSize, original, 0);
                } else {
                    TensorBridge.toModelInput("input", input.getInput(), inputSize, batchBuffer, batchRecords.size() * inputSize);
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
                    view.apply(original, chw.get(0), chw.get(1), chw.get(2), batchBuffer, batchRecords.size() * inputSize);
                }
                batchRecords.add(record);
                batchInputs.add(input);
                batchViews.add(view);
            }
            if (batchRecords.size() == maxBatch) {
                runBatch(batchRecords, batchInputs, outputs, failures, batchSizes);
            }
        }
        if (!batchRecords.isEmpty()) {
            runBatch(batchRecords, batchInputs, outputs, failures, batchSizes);
        }
        return new Result(outputs, failures, batchSizes.stream().mapToInt(Integer::intValue).toArray());
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

    private void runBatch(List<ConsumerRecord<byte[], byte[]>> records, List<InputRecord> inputs, List<Produced> outputs,
            List<Failure> failures, List<Integer> batchSizes) {
        int n = records.size();
        batchSizes.add(n);
        BatchOutput out;
        try {
            out = predictor.predict(batchBuffer, n);
        } catch (KdException e) {
            LOGGER.warn("Inference failed on a batch of {}; retrying its inputs one by one: {}", n, e.getMessage());
            runOneByOne(records, inputs, outputs, failures);
            records.clear();
            inputs.clear();
            return;
        }
        for (int i = 0; i < n; i += views.count()) {
            List<BatchOutput> perView = new ArrayList<>(views.count());
            int[] rows = new int[views.count()];
            for (int k = 0; k < views.count(); k++) {
                perView.add(out);
                rows[k] = i + k;
            }
            emit(records.get(i), inputs.get(i), perView, rows, i, outputs, failures);
        }
        records.clear();
        inputs.clear();
        batchViews.clear();
    }

    private void runOneByOne(List<ConsumerRecord<byte[], byte[]>> records, List<InputRecord> inputs,
            List<Produced> outputs, List<Failure> failures) {
        int size = model.inputSize();
        float[] one = new float[size];
        for (int i = 0; i < records.size(); i += views.count()) {
            List<BatchOutput> perView = new ArrayList<>(views.count());
            try {
                for (int k = 0; k < views.count(); k++) {
                    System.arraycopy(batchBuffer, (i + k) * size, one, 0, size);
                    perView.add(predictor.predict(one, 1));
                }
                emit(records.get(i), inputs.get(i), perView, new int[views.count()], i, outputs, failures);
            } catch (KdException e) {
                failures.add(new Failure(records.get(i), FailureKind.MODEL, "input " + inputs.get(i).getId()
                        + ": the model failed: " + e.getMessage(), e));
            }
        }
        batchViews.clear();
    }

    /**
     * Builds the outputs of one input, a view each ({@code outs.get(k)} row {@code rows[k]}, batch slot
     * {@code slot + k}); when any view is not finite the input is dead-lettered once and none of its views published.
     */
    private void emit(ConsumerRecord<byte[], byte[]> record, InputRecord input, List<BatchOutput> outs, int[] rows, int slot,
            List<Produced> outputs, List<Failure> failures) {
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
                TeacherViews.View view = batchViews.get(slot + k);
                attributes.putAll(view.attributes(views.count()));
                if (!view.identity()) {
                    tensor = TeacherViews.viewTensor(input.getInput(), view, model.inputShape(), batchBuffer,
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
