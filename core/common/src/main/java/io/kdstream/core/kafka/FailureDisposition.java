package io.kdstream.core.kafka;

import io.kdstream.core.KdException;
import io.kdstream.core.RetriableKdException;
import io.kdstream.schemas.serde.KdSerializationException;
import io.kdstream.schemas.tensor.InvalidTensorException;

import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.RetriableException;

/**
 * What a consume loop does with a failure. Every failure is sorted into exactly one of these: nothing is swallowed.
 */
public enum FailureDisposition {
    /** Transient (broker, network, registry unavailable): retry with backoff. */
    RETRY,
    /** The record is bad: publish a FailureEvent to the dead-letter topic and continue. */
    DEAD_LETTER,
    /** Authorization, misconfiguration, corrupted state: stop with a message a user can act on. */
    FATAL;

    /** Sorts a failure. Bad-record exceptions are dead-lettered; retriable ones retried; everything else is fatal. */
    public static FailureDisposition of(Throwable t) {
        if (t instanceof AuthorizationException || t instanceof AuthenticationException) {
            return FATAL;
        }
        if (t instanceof RetriableException || t instanceof RetriableKdException) {
            return RETRY;
        }
        if (t instanceof KdSerializationException || t instanceof InvalidTensorException || t instanceof BadRecordException) {
            return DEAD_LETTER;
        }
        if (t instanceof KdException) {
            return FATAL;
        }
        return FATAL;
    }
}
