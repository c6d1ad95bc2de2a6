package io.kdstream.it.support;

import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.function.Supplier;

/**
 * Produces fixture records and confirms every one: a send the producer gave up on is sent again (up to a few times)
 * and, if it still fails, the test fails with the broker's error. A fixture that loses a record without a word would
 * otherwise show up later as a wrong count in an assertion far from the cause.
 */
public final class ConfirmedSends {
    private static final int ATTEMPTS = 3;

    private ConfirmedSends() {
    }

    /** Sends {@code records} with producers from {@code producers} (each closed after its attempt) and confirms them. */
    public static <K, V> void sendAll(Supplier<Producer<K, V>> producers, List<ProducerRecord<K, V>> records)
            throws InterruptedException {
        List<ProducerRecord<K, V>> pending = records;
        for (int attempt = 1; ; attempt++) {
            List<ProducerRecord<K, V>> failed = new ArrayList<>();
            Exception lastCause = null;
            try (Producer<K, V> producer = producers.get()) {
                List<Future<RecordMetadata>> futures = new ArrayList<>(pending.size());
                for (ProducerRecord<K, V> r : pending) {
                    futures.add(producer.send(r));
                }
                producer.flush();
                for (int i = 0; i < futures.size(); i++) {
                    try {
                        futures.get(i).get();
                    } catch (ExecutionException e) {
                        failed.add(pending.get(i));
                        lastCause = e;
                    }
                }
            }
            if (failed.isEmpty()) {
                return;
            }
            if (attempt >= ATTEMPTS) {
                throw new IllegalStateException(failed.size() + " fixture records could not be produced after " + ATTEMPTS
                        + " attempts: " + lastCause.getCause(), lastCause);
            }
            System.err.printf("ConfirmedSends: %d of %d records failed (%s); sending them again%n", failed.size(),
                    pending.size(), lastCause.getCause());
            pending = failed;
        }
    }
}
