package io.kdstream.trainer.student;

import io.kdstream.core.KdException;
import io.kdstream.core.djl.NativeWarnings;
import io.kdstream.core.model.ModelFormat;
import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.model.ModelStore;
import io.kdstream.core.model.SavedModel;
import io.kdstream.core.model.Sha256;
import io.kdstream.core.zoo.Architecture;
import io.kdstream.core.zoo.FeatureBlock;
import io.kdstream.core.zoo.FeatureSpec;
import io.kdstream.trainer.TrainerConfig;

import ai.djl.engine.Engine;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A user's PyTorch student, scripted or traced to TorchScript, as a trainable architecture. The module takes
 * {@code [N, inputShape...]} float32 and returns the logits {@code [N, numClasses]}, or a tuple
 * {@code (logits, feature...)} whose features are declared, in order, in the {@code .json} file of the same name
 * (kdstream model metadata: input shape, class count, feature names, strides and shapes). {@link #load} checks the file
 * and runs the module once on zeros against its metadata, so a mismatch stops the run at start with the file and the
 * shapes named. Every {@link #newBlock()} loads a fresh copy of the module (the student, and the EMA teacher's copy);
 * its parameter values are the ones saved in the file.
 *
 * <p>What the trainer trains are the module's parameters ({@code named_parameters}): buffers such as batch-norm running
 * statistics are updated by the module's own training forward but are not part of checkpoints, group averaging or the
 * EMA teacher. {@link #export} writes the trained module back as TorchScript.
 */
public final class TorchScriptStudent implements Architecture {
    private static final Logger LOGGER = LoggerFactory.getLogger(TorchScriptStudent.class);

    /** File name of the exported TorchScript student in a model directory and next to a checkpoint. */
    public static final String EXPORT_FILE = "student.pt";
    /** Its metadata (the sidecar of {@link #EXPORT_FILE}). */
    public static final String EXPORT_METADATA_FILE = "student.json";
    /** Directory of the export written with every checkpoint, inside the checkpoint directory. */
    public static final String CHECKPOINT_EXPORT_DIR = "torchscript";

    private static final int PROBE_BATCH = 2;

    private final Path file;
    private final ModelMetadata metadata;

    private TorchScriptStudent(Path file, ModelMetadata metadata) {
        this.file = file;
        this.metadata = metadata;
    }

    /**
     * Reads and checks a TorchScript student and its sidecar metadata.
     *
     * @throws KdException naming the file when it is missing, has no metadata, is not TorchScript, or does not
     *                     return what its metadata declares for a batch of the declared input shape
     */
    public static TorchScriptStudent load(Path file) {
        Path abs = file.toAbsolutePath().normalize();
        if (!Files.isRegularFile(abs)) {
            throw new KdException("TorchScript student " + abs + " does not exist or is not a file ("
                    + TrainerConfig.STUDENT_MODEL_CONFIG + ")");
        }
        Path sidecar = ModelStore.sidecarOf(abs);
        if (!Files.isRegularFile(sidecar)) {
            throw new KdException("TorchScript student " + abs + " has no metadata: expected " + sidecar + " with its "
                    + "inputShape, numClasses and features (see docs/byo.md)");
        }
        SavedModel saved = ModelStore.read(abs);
        ModelMetadata metadata = saved.metadata();
        if (metadata.format() != ModelFormat.TORCHSCRIPT) {
            throw new KdException(sidecar + " declares format " + metadata.format().name().toLowerCase(java.util.Locale.ROOT)
                    + "; a TorchScript student needs \"format\": \"torchscript\"");
        }
        TorchScriptStudent student = new TorchScriptStudent(abs, metadata.withSha256(Sha256.of(abs)));
        student.probe();
        LOGGER.info("TorchScript student {}: name={} input={} classes={} features={} sha256={}", abs, metadata.architecture(),
                metadata.inputShape(), metadata.numClasses(), metadata.features(), student.metadata.parametersSha256());
        return student;
    }

    /** The file the student was loaded from. */
    public Path file() {
        return file;
    }

    /** The metadata of the file, with its sha256. */
    public ModelMetadata metadata() {
        return metadata;
    }

    @Override
    public String name() {
        return metadata.architecture();
    }

    @Override
    public List<Integer> inputShape() {
        return metadata.inputShape();
    }

    @Override
    public int numClasses() {
        return metadata.numClasses();
    }

    @Override
    public List<FeatureSpec> features() {
        return metadata.features();
    }

    @Override
    public FeatureBlock newBlock() {
        return FeatureBlock.builder()
                .addModule(new TorchScriptModule(file), features().stream().map(FeatureSpec::name).toList())
                .build();
    }

    @Override
    public boolean loadedModule() {
        return true;
    }

    /**
     * Checks the student against what the stream carries: the per-example input shape of its records and the class
     * count of the teacher's logits (null when the run has no stream teacher).
     *
     * @throws KdException naming the file and both shapes on a mismatch
     */
    public void checkStream(List<Integer> streamInputShape, Integer teacherClasses, String topic) {
        if (streamInputShape != null) {
            int size = 1;
            for (int d : streamInputShape) {
                size *= d;
            }
            if (size != inputSize()) {
                throw new KdException("TorchScript student " + file + " takes inputs of shape " + inputShape() + " ("
                        + inputSize() + " values) but the records on " + topic + " carry inputs of shape " + streamInputShape
                        + " (" + size + " values)");
            }
        }
        if (teacherClasses != null && teacherClasses != numClasses()) {
            throw new KdException("TorchScript student " + file + " returns " + numClasses() + " logits (shape [N, "
                    + numClasses() + "]) but the teacher on " + topic + " has " + teacherClasses + " classes");
        }
    }

    /**
     * Writes the module of {@code block} (a block of a TorchScript student, trained or not) as a TorchScript file,
     * in inference mode, with its metadata next to it ({@code file} with {@code .json}), both replaced atomically.
     *
     * @return the metadata written, with the sha256 of the file
     */
    public SavedModel export(Block block, Path target) {
        PtSymbolBlock module = moduleOf(block);
        noGrad();
        // leave the module in inference mode (module.eval()), as torch.jit.load users expect; the next training
        // forward switches it back
        try (NDManager scope = NDManager.newBaseManager()) {
            block.forward(new ParameterStore(scope, false), new NDList(scope.zeros(batchShape(1))), false);
        }
        Path abs = target.toAbsolutePath().normalize();
        try {
            Files.createDirectories(abs.getParent());
            Path tmp = abs.resolveSibling(abs.getFileName() + ".tmp");
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                JniUtils.writeModule(module, out, false);
            }
            moveAtomically(tmp, abs);
            ModelMetadata written = new ModelMetadata(ModelFormat.TORCHSCRIPT, metadata.architecture(), metadata.version(),
                    metadata.inputShape(), metadata.numClasses(), metadata.features(), abs.getFileName().toString(),
                    Sha256.of(abs), Optional.empty(), Optional.empty());
            Path sidecar = ModelStore.sidecarOf(abs);
            Path sidecarTmp = sidecar.resolveSibling(sidecar.getFileName() + ".tmp");
            Files.writeString(sidecarTmp, written.toJson(), StandardCharsets.UTF_8);
            moveAtomically(sidecarTmp, sidecar);
            return new SavedModel(abs.getParent(), written);
        } catch (IOException | EngineException e) {
            throw new KdException("Cannot write the TorchScript student to " + abs + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes {@value #EXPORT_FILE} (and {@value #EXPORT_METADATA_FILE}) into {@code dir} when {@code architecture} is a
     * TorchScript student; nothing for a zoo student.
     *
     * @return the exported model, when there is one
     */
    public static Optional<SavedModel> exportInto(Architecture architecture, Block block, Path dir) {
        if (architecture instanceof TorchScriptStudent student) {
            return Optional.of(student.export(block, dir.resolve(EXPORT_FILE)));
        }
        return Optional.empty();
    }

    /** The TorchScript module inside a block built by {@link #newBlock()}. */
    static PtSymbolBlock moduleOf(Block block) {
        if (block instanceof TorchScriptModule m) {
            return m.module();
        }
        if (block instanceof PtSymbolBlock pt) {
            return pt;
        }
        for (Pair<String, Block> child : block.getChildren()) {
            try {
                return moduleOf(child.getValue());
            } catch (IllegalArgumentException e) {
                // not in this child
            }
        }
        throw new IllegalArgumentException("the block holds no TorchScript module");
    }

    /** Runs the module once in inference mode on a zero batch and checks its outputs against the metadata. */
    private void probe() {
        noGrad();
        try (NDManager manager = NDManager.newBaseManager()) {
            PtSymbolBlock module = TorchScriptModule.load(manager, file);
            for (Pair<String, ai.djl.nn.Parameter> p : module.getParameters()) {
                DataType type = p.getValue().getArray().getDataType();
                if (type != DataType.FLOAT32) {
                    throw new KdException("TorchScript student " + file + ": parameter " + p.getKey() + " is " + type
                            + "; kdstream trains float32 modules (script or trace the module after .float())");
                }
            }
            NDList out;
            Shape batch = batchShape(PROBE_BATCH);
            try {
                out = module.forward(new ParameterStore(manager, false), new NDList(manager.zeros(batch)), false);
            } catch (EngineException | IllegalStateException | UnsupportedOperationException e) {
                throw new KdException("TorchScript student " + file + " fails on an input of shape " + batch + " (the "
                        + "inputShape " + inputShape() + " of " + ModelStore.sidecarOf(file).getFileName() + " with a batch of "
                        + PROBE_BATCH + "): " + TorchScriptModule.firstLine(e.getMessage()), e);
            }
            checkOutputs(out, batch);
        }
    }

    private void checkOutputs(NDList out, Shape batch) {
        List<String> got = new ArrayList<>();
        out.forEach(a -> got.add(a.getShape().toString()));
        List<String> expected = new ArrayList<>();
        expected.add(new Shape(PROBE_BATCH, numClasses()).toString());
        for (FeatureSpec f : features()) {
            expected.add(withBatch(f.shape()).toString());
        }
        if (!got.equals(expected)) {
            throw new KdException("TorchScript student " + file + " returns " + got + " for an input of shape " + batch
                    + ", but its metadata declares " + expected + " (logits of " + numClasses() + " classes"
                    + (features().isEmpty() ? "" : ", then features " + features().stream().map(FeatureSpec::name).toList())
                    + ")");
        }
        for (NDArray a : out) {
            if (a.getDataType() != DataType.FLOAT32) {
                throw new KdException("TorchScript student " + file + " returns " + a.getDataType() + " outputs; float32 needed");
            }
        }
    }

    private static Shape withBatch(List<Integer> shape) {
        long[] dims = new long[shape.size() + 1];
        dims[0] = PROBE_BATCH;
        for (int i = 0; i < shape.size(); i++) {
            dims[i + 1] = shape.get(i);
        }
        return new Shape(dims);
    }

    private Shape batchShape(int n) {
        long[] dims = new long[inputShape().size() + 1];
        dims[0] = n;
        for (int i = 0; i < inputShape().size(); i++) {
            dims[i + 1] = inputShape().get(i);
        }
        return new Shape(dims);
    }

    /** Gradient recording off on this thread (PyTorch keeps it per thread): the probe and the export record nothing. */
    private static void noGrad() {
        Engine.getInstance();
        NativeWarnings.absorb();
        if (JniUtils.isGradMode()) {
            JniUtils.setGradMode(false);
        }
    }

    private static void moveAtomically(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
