package io.kdstream.teacher;

import io.kdstream.avro.TeacherInfo;

import java.util.Objects;

/**
 * Which teacher produced an output: model name, version and the sha256 of its parameter file.
 *
 * @param name    model name (the architecture for zoo models)
 * @param version model version
 * @param sha256  hex sha256 of the parameter file
 */
public record TeacherIdentity(String name, String version, String sha256) {
    public TeacherIdentity {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(sha256, "sha256");
        if (name.isBlank() || version.isBlank() || sha256.isBlank()) {
            throw new IllegalArgumentException("name, version and sha256 must not be blank");
        }
    }

    public TeacherInfo toAvro() {
        return new TeacherInfo(name, version, sha256);
    }
}
