package io.kdstream.core;

/** A transient failure (broker, network, registry unavailable): the operation may succeed if retried. */
public class RetriableKdException extends KdException {
    private static final long serialVersionUID = 1L;

    public RetriableKdException(String message) {
        super(message);
    }

    public RetriableKdException(String message, Throwable cause) {
        super(message, cause);
    }
}
