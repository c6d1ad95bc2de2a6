package io.kdstream.core.model;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A model on disk: its directory (or, for a bare TorchScript file, the directory holding it) and its metadata.
 *
 * @param dir      directory holding the parameter file and metadata
 * @param metadata what the model is
 */
public record SavedModel(Path dir, ModelMetadata metadata) {
    public SavedModel {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(metadata, "metadata");
    }

    /** The parameter file. */
    public Path parametersPath() {
        return dir.resolve(metadata.parametersFile());
    }
}
