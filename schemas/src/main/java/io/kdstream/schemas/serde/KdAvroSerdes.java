package io.kdstream.schemas.serde;

import org.apache.avro.specific.SpecificRecord;

import java.util.Map;

/** Configured {@link KdAvroSerde}s. */
public final class KdAvroSerdes {

    private KdAvroSerdes() {
    }

    /** A serde for record values of {@code type} (subject {@code <topic>-value}), configured with {@code config}. */
    public static <T extends SpecificRecord> KdAvroSerde<T> value(Class<T> type, Map<String, ?> config) {
        KdAvroSerde<T> serde = new KdAvroSerde<>(type);
        serde.configure(config, false);
        return serde;
    }

    /** A serde for record keys of {@code type} (subject {@code <topic>-key}), configured with {@code config}. */
    public static <T extends SpecificRecord> KdAvroSerde<T> key(Class<T> type, Map<String, ?> config) {
        KdAvroSerde<T> serde = new KdAvroSerde<>(type);
        serde.configure(config, true);
        return serde;
    }
}
