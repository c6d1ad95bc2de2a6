package io.kdstream.schemas.serde;

import io.kdstream.schemas.registry.SchemaRegistryClient;
import io.kdstream.schemas.registry.SchemaRegistryClients;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

import java.util.Map;

/**
 * {@link KdAvroSerializer} and {@link KdAvroDeserializer} of one record class sharing one registry client (and so
 * its caches). Usable by class name (e.g. Kafka Streams' {@code default.value.serde}) with
 * {@code kdstream.avro.record.class}; see {@link KdAvroSerdes} for the programmatic way.
 */
public class KdAvroSerde<T extends SpecificRecord> implements Serde<T> {

    private final KdAvroSerializer<T> serializer;
    private final KdAvroDeserializer<T> deserializer;
    private final SchemaRegistryClient givenClient;
    private SchemaRegistryClient ownedClient;

    /** A serde whose record class comes from {@code kdstream.avro.record.class}. */
    public KdAvroSerde() {
        this.givenClient = null;
        this.serializer = new KdAvroSerializer<>();
        this.deserializer = new KdAvroDeserializer<>();
    }

    /** A serde of {@code type}. */
    public KdAvroSerde(Class<T> type) {
        this.givenClient = null;
        this.serializer = new KdAvroSerializer<>();
        this.deserializer = new KdAvroDeserializer<>(type);
    }

    /** A serde of {@code type} on {@code client} (not closed by {@link #close()}). */
    public KdAvroSerde(Class<T> type, SchemaRegistryClient client) {
        this.givenClient = client;
        this.serializer = new KdAvroSerializer<>(client);
        this.deserializer = new KdAvroDeserializer<>(type, client);
    }

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        KdSerdeConfig config = new KdSerdeConfig(configs);
        SchemaRegistryClient client = givenClient;
        if (client == null) {
            if (ownedClient != null) {
                ownedClient.close();
            }
            ownedClient = SchemaRegistryClients.create(config.schemaRegistryUrl(), configs);
            client = ownedClient;
        }
        serializer.configure(config, isKey, client, false);
        deserializer.configure(config, isKey, client, false);
    }

    @Override
    public Serializer<T> serializer() {
        return serializer;
    }

    @Override
    public Deserializer<T> deserializer() {
        return deserializer;
    }

    @Override
    public void close() {
        serializer.close();
        deserializer.close();
        if (ownedClient != null) {
            ownedClient.close();
            ownedClient = null;
        }
    }
}
