package io.kdstream.schemas.tensor;

import java.util.Objects;

/**
 * A {@link io.kdstream.avro.Tensor} that is inconsistent or not of the expected kind: its shape does not match its
 * data, a dimension is negative, the element count overflows, its dtype is missing or not the one asked for, or it is
 * larger than allowed. The message always names the tensor.
 */
public class InvalidTensorException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    /** Why a tensor was rejected. */
    public enum Reason {
        /** Shape and data disagree, a dimension is negative or null, or the element count overflows. */
        SHAPE,
        /** The dtype is missing, unknown or not the one the accessor needs. */
        DTYPE,
        /** More elements than the configured maximum. */
        OVERSIZED
    }

    private final Reason reason;
    private final String tensorName;

    public InvalidTensorException(Reason reason, String tensorName, String detail) {
        super("tensor '" + tensorName + "': " + detail + " [" + Objects.requireNonNull(reason, "reason") + "]");
        this.reason = reason;
        this.tensorName = tensorName;
    }

    /** Why the tensor was rejected. */
    public Reason reason() {
        return reason;
    }

    /** The name the caller gave the tensor (e.g. a field name). */
    public String tensorName() {
        return tensorName;
    }
}
