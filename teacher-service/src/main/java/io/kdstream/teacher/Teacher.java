package io.kdstream.teacher;

import io.kdstream.core.KdException;
import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.model.Sha256;
import io.kdstream.teacher.internals.BatchTranslator;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.inference.Predictor;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A loaded teacher on one device: one model (a zoo architecture with DJL parameters, or a TorchScript module), or an
 * ensemble of several that share the input shape and the classes. Shared by all worker threads; each thread takes its
 * own {@link #newPredictor() predictor}.
 *
 * <p>An ensemble's logits are the mean of its members' logits (summed in member order, then divided: the same floats
 * on every run), and its feature maps are those of its first member. Its identity names every member and its sha256
 * is that of the members' sha256s, one per line, so outputs record exactly which models taught them.
 */
public final class Teacher implements AutoCloseable {

    private final List<Model> models;
    private final List<ModelMetadata> members;
    private final ModelMetadata metadata;
    private final TeacherIdentity identity;

    /**
     * Wraps a DJL model whose block returns {@code (logits, features...)} as {@code metadata} declares. The teacher
     * owns the model from now on and closes it.
     */
    public Teacher(Model model, ModelMetadata metadata, TeacherIdentity identity) {
        this(List.of(Objects.requireNonNull(model, "model")), List.of(Objects.requireNonNull(metadata, "metadata")),
                metadata, identity);
    }

    private Teacher(List<Model> models, List<ModelMetadata> members, ModelMetadata metadata, TeacherIdentity identity) {
        this.models = List.copyOf(models);
        this.members = List.copyOf(members);
        this.metadata = Objects.requireNonNull(metadata, "metadata");
        this.identity = Objects.requireNonNull(identity, "identity");
    }

    /**
     * An ensemble of {@code teachers}, which it takes over (closing it closes them). They must share input shape and
     * number of classes.
     *
     * @throws KdException when they do not; the teachers are left open then
     */
    public static Teacher ensemble(List<Teacher> teachers) {
        if (teachers.isEmpty()) {
            throw new IllegalArgumentException("an ensemble needs at least one teacher");
        }
        if (teachers.size() == 1) {
            return teachers.get(0);
        }
        ModelMetadata first = teachers.get(0).metadata;
        List<Model> models = new ArrayList<>();
        List<ModelMetadata> members = new ArrayList<>();
        for (Teacher t : teachers) {
            if (!t.metadata.inputShape().equals(first.inputShape()) || t.metadata.numClasses() != first.numClasses()) {
                throw new KdException("An ensemble's teachers must share input shape and classes: " + first.architecture()
                        + " takes " + first.inputShape() + " and has " + first.numClasses() + " classes, "
                        + t.metadata.architecture() + " " + t.metadata.inputShape() + " and " + t.metadata.numClasses());
            }
            models.addAll(t.models);
            members.addAll(t.members);
        }
        String name = String.join("+", members.stream().map(ModelMetadata::architecture).toList());
        String version = String.join("+", members.stream().map(ModelMetadata::version).toList());
        String sha = Sha256.of(String.join("\n", teachers.stream().map(t -> t.identity.sha256()).toList())
                .getBytes(StandardCharsets.UTF_8));
        ModelMetadata metadata = new ModelMetadata(first.format(), name, version, first.inputShape(), first.numClasses(),
                first.features(), first.parametersFile(), sha, Optional.empty(), Optional.empty());
        return new Teacher(models, members, metadata, new TeacherIdentity(name, version, sha));
    }

    public TeacherIdentity info() {
        return identity;
    }

    public ModelMetadata metadata() {
        return metadata;
    }

    /** The metadata of each model: one entry for a single teacher, one per member for an ensemble. */
    public List<ModelMetadata> members() {
        return members;
    }

    public Device device() {
        return models.get(0).getNDManager().getDevice();
    }

    /** A new predictor for the calling thread; close it when the thread is done. */
    public TeacherPredictor newPredictor() {
        List<Predictor<BatchTranslator.Input, BatchOutput>> predictors = new ArrayList<>();
        try {
            for (int i = 0; i < models.size(); i++) {
                predictors.add(models.get(i).newPredictor(
                        new BatchTranslator(members.get(i).inputShape(), members.get(i).features().size())));
            }
        } catch (RuntimeException e) {
            predictors.forEach(Predictor::close);
            throw e;
        }
        return new TeacherPredictor(predictors, metadata.inputSize());
    }

    @Override
    public void close() {
        models.forEach(Model::close);
    }
}
