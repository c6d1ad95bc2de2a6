package io.kdstream.schemas.serde;

import org.apache.kafka.common.errors.RetriableException;

/**
 * The schema registry could not be reached (connection refused, timeout, 5xx from every URL). This says nothing about
 * the record: callers retry (or stop) instead of dead-lettering it.
 */
public class SchemaRegistryUnavailableException extends RetriableException {

    private static final long serialVersionUID = 1L;

    public SchemaRegistryUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
