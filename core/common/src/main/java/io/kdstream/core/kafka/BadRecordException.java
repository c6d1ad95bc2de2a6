package io.kdstream.core.kafka;

import io.kdstream.avro.FailureKind;
import io.kdstream.core.KdException;

import java.util.Objects;

/** A record that decoded but cannot be processed (wrong shape, non-finite values, missing label...): dead-letter it. */
public class BadRecordException extends KdException {
    private static final long serialVersionUID = 1L;

    private final FailureKind kind;

    public BadRecordException(FailureKind kind, String message) {
        super(message);
        this.kind = Objects.requireNonNull(kind, "kind");
    }

    public BadRecordException(FailureKind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = Objects.requireNonNull(kind, "kind");
    }

    public FailureKind kind() {
        return kind;
    }
}
