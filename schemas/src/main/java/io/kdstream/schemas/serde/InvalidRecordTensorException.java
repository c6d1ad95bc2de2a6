package io.kdstream.schemas.serde;

import io.kdstream.avro.FailureKind;
import io.kdstream.schemas.tensor.InvalidTensorException;

/**
 * A record decoded fine but holds an inconsistent {@link io.kdstream.avro.Tensor} (shape and data disagree, or a
 * negative or overflowing shape). The failure kind follows the tensor's reason: SHAPE, DTYPE or OVERSIZED.
 */
public class InvalidRecordTensorException extends KdSerializationException {

    private static final long serialVersionUID = 1L;

    public InvalidRecordTensorException(String message, InvalidTensorException cause) {
        super(kindOf(cause.reason()), message, cause);
    }

    /** The tensor problem. */
    public InvalidTensorException tensorProblem() {
        return (InvalidTensorException) getCause();
    }

    private static FailureKind kindOf(InvalidTensorException.Reason reason) {
        return switch (reason) {
            case SHAPE -> FailureKind.SHAPE;
            case DTYPE -> FailureKind.DTYPE;
            case OVERSIZED -> FailureKind.OVERSIZED;
        };
    }
}
