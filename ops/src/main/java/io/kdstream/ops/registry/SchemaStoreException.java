package io.kdstream.ops.registry;

/** The store could not read or persist (e.g. its Kafka topic is unreachable); the registry answers 500/50001. */
public class SchemaStoreException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public SchemaStoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
