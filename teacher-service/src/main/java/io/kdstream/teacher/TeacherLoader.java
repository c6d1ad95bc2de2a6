package io.kdstream.teacher;

import io.kdstream.core.KdException;
import io.kdstream.core.djl.Devices;
import io.kdstream.core.model.ModelFormat;
import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.model.ModelStore;
import io.kdstream.core.model.SavedModel;
import io.kdstream.core.model.Sha256;
import io.kdstream.core.zoo.Architecture;
import io.kdstream.core.zoo.FeatureSpec;
import io.kdstream.core.zoo.ModelZoo;
import io.kdstream.teacher.internals.BatchTranslator;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.translate.TranslateException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Loads teachers: a model directory of the store (zoo architecture + DJL parameters, or TorchScript), or a bare
 * TorchScript {@code .pt} file. A TorchScript module takes {@code [N, inputShape...]} float32 in [0, 1] and returns a
 * tuple {@code (logits, feature...)}. Its names, strides and shapes come from the {@code .json} file of the same name
 * when there is one; otherwise from a probe run on a zero input, with features named {@code feature1},
 * {@code feature2}, ... and the stride of a {@code [C, H, W]} map taken as the input height divided by {@code H}.
 */
public final class TeacherLoader {

    private static final Logger LOGGER = LoggerFactory.getLogger(TeacherLoader.class);
    private static final String ENGINE = "PyTorch";
    /** Input shape assumed for a TorchScript file without metadata: the bundled dataset's. */
    public static final List<Integer> DEFAULT_INPUT_SHAPE = List.of(1, 28, 28);

    private TeacherLoader() {
    }

    /**
     * @param spec   model directory, {@code .pt} file, model name in the store, or null for the store's latest
     * @param device {@code auto | cpu | gpu:N}
     */
    public static Teacher load(String spec, ModelStore store, String device) {
        return load(store.resolve(spec), Devices.resolve(device));
    }

    /**
     * One teacher per spec; several make an ensemble ({@link Teacher#ensemble}: the mean of their logits, the first
     * one's feature maps).
     *
     * @param specs  model directories, {@code .pt} files or model names in the store; empty for the store's latest
     * @param device {@code auto | cpu | gpu:N}
     */
    public static Teacher load(List<String> specs, ModelStore store, String device) {
        if (specs.size() <= 1) {
            return load(specs.isEmpty() ? null : specs.get(0), store, device);
        }
        Device resolved = Devices.resolve(device);
        List<Teacher> members = new ArrayList<>();
        try {
            for (String spec : specs) {
                members.add(load(store.resolve(spec), resolved));
            }
            Teacher ensemble = Teacher.ensemble(members);
            LOGGER.info("Serving an ensemble of {} teachers: {} (sha256 {})", members.size(), ensemble.info().name(),
                    ensemble.info().sha256());
            return ensemble;
        } catch (RuntimeException e) {
            members.forEach(Teacher::close);
            throw e;
        }
    }

    public static Teacher load(Path path, Device device) {
        if (Files.isRegularFile(path)) {
            return loadTorchScript(path, device);
        }
        SavedModel saved = ModelStore.read(path);
        if (saved.metadata().format() == ModelFormat.TORCHSCRIPT) {
            return torchScript(saved.parametersPath(), saved.metadata(), device);
        }
        return loadZoo(saved, device);
    }

    /** A zoo model saved by the store. */
    public static Teacher loadZoo(SavedModel saved, Device device) {
        ModelMetadata meta = saved.metadata();
        Architecture arch = ModelZoo.get(meta.architecture());
        if (!arch.inputShape().equals(meta.inputShape()) || arch.numClasses() != meta.numClasses()
                || !arch.features().equals(meta.features())) {
            throw new KdException("Metadata of " + saved.dir() + " does not match architecture " + arch.name()
                    + " (input " + arch.inputShape() + ", " + arch.numClasses() + " classes, features " + arch.features() + ")");
        }
        Model model = Model.newInstance(meta.architecture(), device, ENGINE);
        try {
            model.setBlock(arch.newBlock());
            ModelStore.loadParameters(model.getBlock(), model.getNDManager(), saved);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        LOGGER.info("Loaded teacher architecture={} version={} sha256={} device={}", meta.architecture(), meta.version(),
                meta.parametersSha256(), device);
        return new Teacher(model, meta, new TeacherIdentity(meta.architecture(), meta.version(), meta.parametersSha256()));
    }

    /** A TorchScript file, with the metadata of its {@code .json} sidecar or probed defaults. */
    public static Teacher loadTorchScript(Path file, Device device) {
        Path sidecar = ModelStore.sidecarOf(file);
        if (Files.isRegularFile(sidecar)) {
            SavedModel saved = ModelStore.read(file);
            return torchScript(file, saved.metadata(), device);
        }
        return torchScript(file, null, device);
    }

    private static Teacher torchScript(Path file, ModelMetadata declared, Device device) {
        Path abs = file.toAbsolutePath().normalize();
        String fileName = abs.getFileName().toString();
        String stem = fileName.endsWith(".pt") ? fileName.substring(0, fileName.length() - 3) : fileName;
        Model model = Model.newInstance(stem, device, ENGINE);
        try {
            model.load(abs.getParent(), stem, Map.of("mapLocation", "true"));
            String sha = Sha256.of(abs);
            ModelMetadata meta = declared != null ? declared : probe(model, stem, fileName);
            if (!meta.parametersSha256().isEmpty() && !meta.parametersSha256().equals(sha)) {
                throw new KdException(abs + " does not match the sha256 in its metadata");
            }
            meta = meta.withSha256(sha);
            checkOutputs(model, meta);
            LOGGER.info("Loaded TorchScript teacher file={} name={} features={} sha256={} device={}", abs, meta.architecture(),
                    meta.features(), sha, device);
            return new Teacher(model, meta, new TeacherIdentity(meta.architecture(), meta.version(), sha));
        } catch (IOException | MalformedModelException e) {
            model.close();
            throw new KdException("Cannot load TorchScript module " + abs + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    private static BatchOutput runOnZeros(Model model, List<Integer> inputShape, int expectedFeatures) {
        int size = inputShape.stream().reduce(1, (a, b) -> a * b);
        try (Predictor<BatchTranslator.Input, BatchOutput> p = model.newPredictor(new BatchTranslator(inputShape, expectedFeatures))) {
            return p.predict(new BatchTranslator.Input(new float[size], 1));
        } catch (TranslateException e) {
            throw new KdException("The TorchScript module failed on a zero input of shape [1, " + inputShape + "]: "
                    + e.getMessage(), e);
        }
    }

    private static ModelMetadata probe(Model model, String name, String fileName) {
        BatchOutput out;
        try {
            out = runOnZeros(model, DEFAULT_INPUT_SHAPE, -1);
        } catch (KdException e) {
            throw new KdException(e.getMessage() + " (without metadata a module is probed as a " + DEFAULT_INPUT_SHAPE
                    + " model; for another input shape put " + name + ".json next to " + fileName
                    + " with its \"inputShape\", e.g. [3, 32, 32])", e);
        }
        List<FeatureSpec> features = new ArrayList<>();
        for (int i = 0; i < out.featureShapes().size(); i++) {
            List<Integer> shape = out.featureShapes().get(i);
            int stride = shape.size() >= 2 ? Math.max(1, Math.round((float) DEFAULT_INPUT_SHAPE.get(1) / shape.get(1))) : 0;
            features.add(new FeatureSpec("feature" + (i + 1), stride, shape));
        }
        LOGGER.info("No metadata next to {}: probed {} classes and features {}", fileName, out.numClasses(), features);
        return new ModelMetadata(ModelFormat.TORCHSCRIPT, name, "1", DEFAULT_INPUT_SHAPE, out.numClasses(), features,
                fileName, "", Optional.empty(), Optional.empty());
    }

    private static void checkOutputs(Model model, ModelMetadata meta) {
        BatchOutput out = runOnZeros(model, meta.inputShape(), meta.features().size());
        if (out.numClasses() != meta.numClasses()) {
            throw new KdException(meta.architecture() + ": the module returns " + out.numClasses()
                    + " logits, its metadata declares " + meta.numClasses());
        }
        for (int i = 0; i < meta.features().size(); i++) {
            FeatureSpec f = meta.features().get(i);
            if (out.features().get(i).length != f.size()) {
                throw new KdException(meta.architecture() + ": feature " + f.name() + " has " + out.features().get(i).length
                        + " values per example, its metadata declares shape " + f.shape());
            }
        }
    }
}
