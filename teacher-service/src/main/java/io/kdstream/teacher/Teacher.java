package io.kdstream.teacher;

import io.kdstream.core.model.ModelMetadata;
import io.kdstream.teacher.internals.BatchTranslator;

import ai.djl.Device;
import ai.djl.Model;

import java.util.Objects;

/**
 * A loaded teacher model (a zoo architecture with DJL parameters, or a TorchScript module) on one device. Shared by
 * all worker threads; each thread takes its own {@link #newPredictor() predictor}.
 */
public final class Teacher implements AutoCloseable {

    private final Model model;
    private final ModelMetadata metadata;
    private final TeacherIdentity identity;

    /**
     * Wraps a DJL model whose block returns {@code (logits, features...)} as {@code metadata} declares. The teacher
     * owns the model from now on and closes it.
     */
    public Teacher(Model model, ModelMetadata metadata, TeacherIdentity identity) {
        this.model = Objects.requireNonNull(model, "model");
        this.metadata = Objects.requireNonNull(metadata, "metadata");
        this.identity = Objects.requireNonNull(identity, "identity");
    }

    public TeacherIdentity info() {
        return identity;
    }

    public ModelMetadata metadata() {
        return metadata;
    }

    public Device device() {
        return model.getNDManager().getDevice();
    }

    /** A new predictor for the calling thread; close it when the thread is done. */
    public TeacherPredictor newPredictor() {
        return new TeacherPredictor(model.newPredictor(new BatchTranslator(metadata.inputShape(), metadata.features().size())),
                metadata.inputSize());
    }

    @Override
    public void close() {
        model.close();
    }
}
