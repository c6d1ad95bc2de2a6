package io.kdstream.ops.ingest.npy;

import io.kdstream.core.KdException;

/** A NumPy file that cannot be ingested; the message names the file and, where it applies, the example index. */
public final class NpyFormatException extends KdException {
    private static final long serialVersionUID = 1L;

    public NpyFormatException(String message) {
        super(message);
    }

    public NpyFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
