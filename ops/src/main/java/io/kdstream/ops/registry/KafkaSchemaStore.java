package io.kdstream.ops.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kdstream.schemas.registry.CompatibilityLevel;
import io.kdstream.schemas.registry.RegisteredSchema;
import io.kdstream.schemas.registry.RegistryState;
import io.kdstream.schemas.registry.SchemaRegistryException;
import org.apache.avro.Schema;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A {@link SchemaStore} that keeps every registration and compatibility setting in a compacted, single-partition
 * Kafka topic (default {@value #DEFAULT_TOPIC}), like Confluent's {@code _schemas}. On start it creates the topic if
 * needed and replays it, so ids and versions survive restarts; each change is written with {@code acks=all} and
 * acknowledged before it is applied and answered.
 *
 * <p>Records are JSON: key {@code {"keytype":"SCHEMA","subject":s,"version":v}} with value
 * {@code {"subject":s,"version":v,"id":i,"schema":text}}, and key {@code {"keytype":"CONFIG","subject":s|null}} with
 * value {@code {"compatibilityLevel":level}}. Malformed or contradicting records are logged and skipped.
 *
 * <p>One store instance should write a topic at a time; before each write the store reads the topic to its end, and
 * an id it does not know is looked up there too, so a second instance sharing the topic mostly stays in step.
 */
public final class KafkaSchemaStore implements SchemaStore {

    /** The default topic name. */
    public static final String DEFAULT_TOPIC = "_kdstream_schemas";
    /** The default time allowed for each Kafka operation. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    private static final Logger LOGGER = LoggerFactory.getLogger(KafkaSchemaStore.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEYTYPE_SCHEMA = "SCHEMA";
    private static final String KEYTYPE_CONFIG = "CONFIG";

    private final String bootstrapServers;
    private final Map<String, Object> clientProperties;
    private final String topic;
    private final TopicPartition partition;
    private final Optional<Short> replicationFactor;
    private final Duration timeout;
    private final RegistryState state = new RegistryState();
    private final Object lock = new Object();
    private KafkaProducer<String, String> producer;
    private KafkaConsumer<String, String> consumer;
    private long replayed;

    /** A store on the cluster at {@code bootstrapServers}, with extra client properties (security, ...). */
    public KafkaSchemaStore(String bootstrapServers, Map<String, ?> clientProperties) {
        this(builder().setBootstrapServers(bootstrapServers).optClientProperties(clientProperties).validated());
    }

    private KafkaSchemaStore(Builder builder) {
        this.bootstrapServers = builder.bootstrapServers;
        this.clientProperties = Map.copyOf(builder.clientProperties);
        this.topic = builder.topic;
        this.partition = new TopicPartition(topic, 0);
        this.replicationFactor = builder.replicationFactor;
        this.timeout = builder.timeout;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The topic the store writes. */
    public String topic() {
        return topic;
    }

    @Override
    public void start() {
        synchronized (lock) {
            if (producer != null) {
                throw new IllegalStateException("store already started");
            }
            ensureTopic();
            try {
                producer = new KafkaProducer<>(producerProperties());
                consumer = new KafkaConsumer<>(consumerProperties());
                consumer.assign(List.of(partition));
                consumer.seekToBeginning(List.of(partition));
                catchUp();
            } catch (RuntimeException e) {
                close();
                throw e;
            }
            LOGGER.info("Schema store ready topic={} recordsReplayed={} subjects={} nextId={}", topic, replayed,
                    state.subjects().size(), state.nextId());
        }
    }

    @Override
    public RegisteredSchema register(String subject, Schema schema) {
        synchronized (lock) {
            requireStarted();
            catchUp();
            RegistryState.Plan plan = state.plan(subject, schema);
            if (!plan.isNew()) {
                return plan.registration();
            }
            RegisteredSchema registration = plan.registration();
            write(schemaKey(registration.subject(), registration.version()), schemaValue(registration));
            state.apply(registration);
            LOGGER.info("Registered subject={} version={} id={}", registration.subject(), registration.version(),
                    registration.id());
            return registration;
        }
    }

    @Override
    public Schema byId(int id) {
        try {
            return state.byId(id);
        } catch (SchemaRegistryException e) {
            synchronized (lock) {
                requireStarted();
                catchUp(); // another instance sharing the topic may have registered it
            }
            return state.byId(id);
        }
    }

    @Override
    public RegisteredSchema latest(String subject) {
        return state.latest(subject);
    }

    @Override
    public RegisteredSchema version(String subject, int version) {
        return state.version(subject, version);
    }

    @Override
    public List<Integer> versions(String subject) {
        return state.versions(subject);
    }

    @Override
    public RegisteredSchema lookup(String subject, Schema schema) {
        return state.lookup(subject, schema);
    }

    @Override
    public boolean isCompatible(String subject, Schema schema) {
        return state.isCompatible(subject, schema);
    }

    @Override
    public List<String> subjects() {
        return state.subjects();
    }

    @Override
    public CompatibilityLevel compatibility(String subject) {
        return subject == null ? state.globalCompatibility() : state.compatibility(subject);
    }

    @Override
    public void setCompatibility(String subject, CompatibilityLevel level) {
        Objects.requireNonNull(level, "level");
        synchronized (lock) {
            requireStarted();
            ObjectNode value = JSON.createObjectNode().put("compatibilityLevel", level.name());
            write(configKey(subject), value.toString());
            state.setCompatibility(subject, level);
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            if (producer != null) {
                producer.close(Duration.ofSeconds(5));
                producer = null;
            }
            if (consumer != null) {
                consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5)));
                consumer = null;
            }
        }
    }

    // ------------------------------------------------------------------ Kafka

    private void ensureTopic() {
        Map<String, Object> props = new HashMap<>(clientProperties);
        props.put("bootstrap.servers", bootstrapServers);
        props.putIfAbsent("client.id", "kdstream-schema-store-admin");
        try (Admin admin = Admin.create(props)) {
            NewTopic newTopic = new NewTopic(topic, Optional.of(1), replicationFactor)
                    .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));
            admin.createTopics(List.of(newTopic)).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            LOGGER.info("Created schema topic {}", topic);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new SchemaStoreException("cannot create schema topic " + topic + " on " + bootstrapServers
                        + ": " + e.getCause(), e.getCause());
            }
        } catch (TimeoutException e) {
            throw new SchemaStoreException("timed out creating schema topic " + topic + " on " + bootstrapServers, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SchemaStoreException("interrupted creating schema topic " + topic, e);
        }
    }

    private Map<String, Object> producerProperties() {
        Map<String, Object> props = new HashMap<>(clientProperties);
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) timeout.toMillis());
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        props.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "kdstream-schema-store-producer");
        return props;
    }

    private Map<String, Object> consumerProperties() {
        Map<String, Object> props = new HashMap<>(clientProperties);
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        props.remove(ConsumerConfig.GROUP_ID_CONFIG);
        props.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "kdstream-schema-store-consumer");
        return props;
    }

    /** Reads the topic up to its current end, applying every record; caller holds the lock. */
    private void catchUp() {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            long end = consumer.endOffsets(Set.of(partition), timeout).get(partition);
            while (consumer.position(partition, timeout) < end) {
                if (System.nanoTime() > deadline) {
                    throw new SchemaStoreException("timed out reading schema topic " + topic + " up to offset " + end,
                            null);
                }
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                    applyRecord(record);
                    replayed++;
                }
            }
        } catch (KafkaException e) {
            throw new SchemaStoreException("cannot read schema topic " + topic + ": " + e, e);
        }
    }

    private void applyRecord(ConsumerRecord<String, String> record) {
        try {
            JsonNode key = JSON.readTree(record.key() == null ? "null" : record.key());
            if (key == null || !key.isObject()) {
                throw new IllegalArgumentException("key is not a JSON object");
            }
            String keytype = key.path("keytype").asText("");
            if (record.value() == null) {
                LOGGER.debug("Ignoring tombstone at offset {} of {}", record.offset(), topic);
                return;
            }
            JsonNode value = JSON.readTree(record.value());
            if (KEYTYPE_SCHEMA.equals(keytype)) {
                state.apply(new RegisteredSchema(value.path("subject").asText(), value.path("version").asInt(),
                        value.path("id").asInt(-1), new Schema.Parser().parse(value.path("schema").asText())));
            } else if (KEYTYPE_CONFIG.equals(keytype)) {
                JsonNode subject = key.get("subject");
                state.setCompatibility(subject == null || subject.isNull() ? null : subject.asText(),
                        CompatibilityLevel.parse(value.path("compatibilityLevel").asText()));
            } else {
                LOGGER.debug("Ignoring record of keytype '{}' at offset {} of {}", keytype, record.offset(), topic);
            }
        } catch (JsonProcessingException | RuntimeException e) {
            LOGGER.warn("Skipping unusable record at offset {} of {}: {}", record.offset(), topic, e.toString());
        }
    }

    private void write(String key, String value) {
        try {
            producer.send(new ProducerRecord<>(topic, 0, key, value)).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new SchemaStoreException("cannot write to schema topic " + topic + ": " + e.getCause(), e.getCause());
        } catch (TimeoutException | KafkaException e) {
            throw new SchemaStoreException("cannot write to schema topic " + topic + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SchemaStoreException("interrupted writing to schema topic " + topic, e);
        }
    }

    private void requireStarted() {
        if (producer == null) {
            throw new IllegalStateException("schema store is not started (or closed)");
        }
    }

    private static String schemaKey(String subject, int version) {
        return JSON.createObjectNode().put("keytype", KEYTYPE_SCHEMA).put("subject", subject).put("version", version)
                .toString();
    }

    private static String configKey(String subject) {
        ObjectNode key = JSON.createObjectNode().put("keytype", KEYTYPE_CONFIG);
        if (subject == null) {
            key.putNull("subject");
        } else {
            key.put("subject", subject);
        }
        return key.toString();
    }

    private static String schemaValue(RegisteredSchema registration) {
        return JSON.createObjectNode()
                .put("subject", registration.subject())
                .put("version", registration.version())
                .put("id", registration.id())
                .put("schema", registration.schema().toString())
                .toString();
    }

    /** Builds a {@link KafkaSchemaStore}: bootstrap servers required, everything else optional. */
    public static final class Builder {
        private String bootstrapServers;
        private Map<String, ?> clientProperties = Map.of();
        private String topic = DEFAULT_TOPIC;
        private Optional<Short> replicationFactor = Optional.empty();
        private Duration timeout = DEFAULT_TIMEOUT;

        private Builder() {
        }

        public Builder setBootstrapServers(String bootstrapServers) {
            this.bootstrapServers = bootstrapServers;
            return this;
        }

        /** Extra Kafka client properties (security.protocol, sasl.*, ssl.*, ...), passed through untouched. */
        public Builder optClientProperties(Map<String, ?> clientProperties) {
            this.clientProperties = clientProperties == null ? Map.of() : clientProperties;
            return this;
        }

        public Builder optTopic(String topic) {
            this.topic = topic;
            return this;
        }

        /** Replication factor of the topic when it is created; the broker default otherwise. */
        public Builder optReplicationFactor(short replicationFactor) {
            this.replicationFactor = Optional.of(replicationFactor);
            return this;
        }

        /** Time allowed for each Kafka operation (create topic, write, catch up). */
        public Builder optTimeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        public KafkaSchemaStore build() {
            return new KafkaSchemaStore(validated());
        }

        private Builder validated() {
            if (bootstrapServers == null || bootstrapServers.isBlank()) {
                throw new IllegalArgumentException("bootstrap servers are required");
            }
            if (topic == null || topic.isBlank()) {
                throw new IllegalArgumentException("topic must not be blank");
            }
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout must be positive");
            }
            if (replicationFactor.isPresent() && replicationFactor.get() < 1) {
                throw new IllegalArgumentException("replication factor must be >= 1");
            }
            return this;
        }
    }
}
