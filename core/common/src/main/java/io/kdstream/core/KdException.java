package io.kdstream.core;

/**
 * The unchecked root of every kdstream failure. A {@code KdException} that is not a {@link RetriableKdException} is
 * fatal for the operation that raised it: its message says what a user can do about it.
 */
public class KdException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public KdException(String message) {
        super(message);
    }

    public KdException(String message, Throwable cause) {
        super(message, cause);
    }
}
