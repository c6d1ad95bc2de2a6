package io.kdstream.ops.observe;

import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * A named readiness condition, e.g. "teacher-service workers running" or "monitors RUNNING". A check that throws
 * counts as down.
 *
 * @param name  short name shown in the health response
 * @param check true when the component is ready
 */
public record HealthCheck(String name, BooleanSupplier check) {

    public HealthCheck {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(check, "check");
        if (!name.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("health check names use [A-Za-z0-9._-], got '" + name + "'");
        }
    }

    /** Whether the condition holds now. */
    public boolean up() {
        try {
            return check.getAsBoolean();
        } catch (RuntimeException e) {
            return false;
        }
    }
}
