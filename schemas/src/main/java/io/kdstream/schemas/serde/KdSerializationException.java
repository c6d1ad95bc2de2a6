package io.kdstream.schemas.serde;

import io.kdstream.avro.FailureKind;
import org.apache.kafka.common.errors.SerializationException;

import java.util.Objects;

/**
 * A record that cannot be serialised or deserialised. It is a property of the record, not of the environment:
 * retrying gives the same result, so a consumer dead-letters the record under {@link #failureKind()} and moves on.
 */
public class KdSerializationException extends SerializationException {

    private static final long serialVersionUID = 1L;

    private final FailureKind failureKind;

    public KdSerializationException(FailureKind failureKind, String message) {
        this(failureKind, message, null);
    }

    public KdSerializationException(FailureKind failureKind, String message, Throwable cause) {
        super(message, cause);
        this.failureKind = Objects.requireNonNull(failureKind, "failureKind");
    }

    /** The failure class to dead-letter the record under. */
    public FailureKind failureKind() {
        return failureKind;
    }
}
