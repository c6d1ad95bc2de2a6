package io.kdstream.ops.demo;

import io.kdstream.core.KdException;
import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.model.ModelStore;
import io.kdstream.core.model.SavedModel;
import io.kdstream.core.zoo.ModelZoo;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Finds a teacher the demo trained before in the model store: a model of the teacher architecture whose recorded
 * training (dataset slice, epochs, seed, batch size, learning rate) is the one a plan asks for, and whose parameters
 * still match their sha256. The store's {@code latest} is tried first, then every other model, newest first.
 */
public final class TeacherCache {

    private static final Logger LOGGER = LoggerFactory.getLogger(TeacherCache.class);

    private final ModelStore store;

    public TeacherCache(ModelStore store) {
        this.store = Objects.requireNonNull(store, "store");
    }

    /** The training a plan's teacher gets, as recorded in model metadata. */
    public static ModelMetadata.TrainingInfo expectedTraining(DemoPlan plan, int trainSplitSize) {
        String dataset = "fashion-mnist/train" + (plan.teacherTrainImages() < trainSplitSize
                ? "[0:" + plan.teacherTrainImages() + "]" : "");
        return new ModelMetadata.TrainingInfo(dataset, plan.teacherEpochs(), plan.seed(), DemoPlan.TEACHER_BATCH_SIZE,
                Double.parseDouble(Float.toString(DemoPlan.TEACHER_LEARNING_RATE)), 0);
    }

    /** Whether {@code metadata} describes a teacher trained as {@code expected} asks (training time aside). */
    public static boolean matches(ModelMetadata metadata, ModelMetadata.TrainingInfo expected) {
        if (!ModelZoo.FMNIST_CNN_TEACHER.equals(metadata.architecture()) || metadata.training().isEmpty()) {
            return false;
        }
        ModelMetadata.TrainingInfo t = metadata.training().get();
        return t.dataset().equals(expected.dataset()) && t.epochs() == expected.epochs() && t.seed() == expected.seed()
                && t.batchSize() == expected.batchSize() && t.learningRate() == expected.learningRate();
    }

    /** The first cached teacher matching any of {@code acceptable}, in order of preference. */
    public Optional<SavedModel> find(List<ModelMetadata.TrainingInfo> acceptable) {
        List<Path> candidates = new ArrayList<>();
        store.latest().ifPresent(candidates::add);
        if (Files.isDirectory(store.root())) {
            try (Stream<Path> dirs = Files.list(store.root())) {
                dirs.filter(Files::isDirectory).sorted(Comparator.comparing(Path::toString).reversed())
                        .filter(d -> !candidates.contains(d)).forEach(candidates::add);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list the model store " + store.root(), e);
            }
        }
        for (ModelMetadata.TrainingInfo wanted : acceptable) {
            for (Path dir : candidates) {
                if (!Files.isRegularFile(dir.resolve(ModelStore.METADATA_FILE))) {
                    continue;
                }
                try {
                    SavedModel saved = ModelStore.read(dir);
                    if (matches(saved.metadata(), wanted)) {
                        return Optional.of(saved);
                    }
                } catch (KdException | IllegalArgumentException e) {
                    LOGGER.warn("Skipping model {} in the store: {}", dir, e.getMessage());
                }
            }
        }
        return Optional.empty();
    }
}
