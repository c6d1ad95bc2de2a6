package io.kdstream.core.config;

import io.kdstream.core.kafka.Topics;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;

import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Settings every kdstream service shares: how to reach Kafka and the schema registry, and the topic catalog. Service
 * configs extend {@link #baseConfigDef()} with their own keys. Any other property (a Kafka client setting such as
 * {@code security.protocol}, {@code sasl.jaas.config}, {@code ssl.truststore.location}) passes through to the clients
 * untouched, so an existing client properties file just works.
 */
public class KdConfig extends AbstractConfig {

    public static final String BOOTSTRAP_SERVERS_CONFIG = CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG;
    private static final String BOOTSTRAP_SERVERS_DOC = "Kafka brokers to bootstrap from, host:port[,host:port...]. "
            + "The default is the local stack started by 'kdstream up'.";
    public static final String DEFAULT_BOOTSTRAP_SERVERS = "127.0.0.1:9092";

    public static final String SCHEMA_REGISTRY_URL_CONFIG = "schema.registry.url";
    private static final String SCHEMA_REGISTRY_URL_DOC = "Schema registry: http(s)://host:port[,...] of any registry speaking "
            + "the Confluent Schema Registry REST API, or mock://scope for an in-process registry (tests). "
            + "The default is the local stack's development registry.";
    public static final String DEFAULT_SCHEMA_REGISTRY_URL = "http://127.0.0.1:8081";

    /** The default topic names: the one place they are written ({@link Topics#defaults()}). */
    private static final Topics DEFAULT_TOPICS = Topics.defaults();

    public static final String TOPIC_INPUTS_CONFIG = "kd.topic.inputs";
    public static final String TOPIC_TEACHER_OUTPUTS_CONFIG = "kd.topic.teacher.outputs";
    public static final String TOPIC_TEACHER_FEATURES_CONFIG = "kd.topic.teacher.features";
    public static final String TOPIC_DLQ_CONFIG = "kd.topic.dlq";
    public static final String TOPIC_METRICS_CONFIG = "kd.topic.metrics";
    public static final String TOPIC_EVAL_CONFIG = "kd.topic.eval";
    public static final String TOPIC_RUNS_CONFIG = "kd.topic.runs";
    public static final String TOPIC_MODEL_SYNC_CONFIG = "kd.topic.model.sync";
    public static final String TOPIC_MONITORS_CONFIG = "kd.topic.monitors";
    public static final String TOPIC_ALERTS_CONFIG = "kd.topic.alerts";

    public static final String TOPICS_PARTITIONS_CONFIG = "kd.topics.partitions";
    private static final String TOPICS_PARTITIONS_DOC = "Partitions of each topic created by 'kdstream topics create'. "
            + "Partitions bound the parallelism of teacher instances and trainers in one group.";
    public static final String TOPICS_REPLICATION_FACTOR_CONFIG = "kd.topics.replication.factor";
    private static final String TOPICS_REPLICATION_FACTOR_DOC = "Replication factor of created topics (1 for the local "
            + "single-node stack; 3 is usual on a production cluster).";
    public static final String TOPICS_MIN_INSYNC_REPLICAS_CONFIG = "kd.topics.min.insync.replicas";
    private static final String TOPICS_MIN_INSYNC_REPLICAS_DOC = "min.insync.replicas of created topics: how many replicas "
            + "must have a write before an acks=all producer (every kdstream producer) is answered. 0 leaves the broker's "
            + "setting. With a replication factor of 3, 2 keeps writes available while one broker is down and never "
            + "acknowledges a write only one broker holds. Must not exceed kd.topics.replication.factor.";
    public static final String TOPICS_RETENTION_MS_CONFIG = "kd.topics.retention.ms";
    private static final String TOPICS_RETENTION_MS_DOC = "retention.ms of created topics other than the teacher outputs "
            + "and the run manifests; -1 keeps records forever.";
    public static final String TOPIC_TEACHER_OUTPUTS_RETENTION_MS_CONFIG = "kd.topic.teacher.outputs.retention.ms";
    private static final String TOPIC_TEACHER_OUTPUTS_RETENTION_MS_DOC = "retention.ms of the teacher-outputs topic and of "
            + "its companion teacher-features topic. They are the replay log every student learns from and reproduces runs "
            + "from, so the default keeps them forever (-1).";

    private static final long SEVEN_DAYS_MS = 7L * 24 * 60 * 60 * 1000;

    /** Keys of the serde and registry client that are not Kafka client settings. */
    private static final List<String> SERDE_PREFIXES = List.of("schema.registry.", "basic.auth.", "kdstream.avro.");
    private static final List<String> SERDE_KEYS = List.of("auto.register.schemas", "use.latest.version");

    /** Substrings of keys whose values are secrets and never logged or written to a manifest. */
    private static final List<String> SECRET_MARKERS = List.of("password", "secret", "jaas", "user.info", "token", "credentials", "key.pem");

    /** The shared keys. A service's ConfigDef starts from this and adds its own. */
    public static ConfigDef baseConfigDef() {
        return new ConfigDef()
                .define(BOOTSTRAP_SERVERS_CONFIG, Type.LIST, DEFAULT_BOOTSTRAP_SERVERS, new ConfigDef.NonEmptyString() {
                    @Override
                    public void ensureValid(String name, Object value) {
                        @SuppressWarnings("unchecked")
                        List<String> servers = (List<String>) value;
                        if (servers == null || servers.isEmpty()) {
                            throw new ConfigException(name, value, "at least one host:port is required");
                        }
                        for (String s : servers) {
                            if (s.isBlank() || s.lastIndexOf(':') <= 0) {
                                throw new ConfigException(name, value, "expected host:port, got '" + s + "'");
                            }
                        }
                    }

                    @Override
                    public String toString() {
                        return "host:port list";
                    }
                }, Importance.HIGH, BOOTSTRAP_SERVERS_DOC)
                .define(SCHEMA_REGISTRY_URL_CONFIG, Type.STRING, DEFAULT_SCHEMA_REGISTRY_URL, new ConfigDef.Validator() {
                    @Override
                    public void ensureValid(String name, Object value) {
                        String url = value == null ? "" : value.toString().trim();
                        if (!(url.startsWith("http://") || url.startsWith("https://") || url.startsWith("mock://"))) {
                            throw new ConfigException(name, value, "must start with http://, https:// or mock://");
                        }
                    }

                    @Override
                    public String toString() {
                        return "http(s)://host:port[,...] or mock://scope";
                    }
                }, Importance.HIGH, SCHEMA_REGISTRY_URL_DOC)
                .define(TOPIC_INPUTS_CONFIG, Type.STRING, DEFAULT_TOPICS.inputs(), new ConfigDef.NonEmptyString(), Importance.MEDIUM,
                        "Topic of raw inputs (InputRecord), written by ingest and read by the teacher-service.")
                .define(TOPIC_TEACHER_OUTPUTS_CONFIG, Type.STRING, DEFAULT_TOPICS.teacherOutputs(), new ConfigDef.NonEmptyString(), Importance.MEDIUM,
                        "Topic of teacher outputs (TeacherOutput): the durable replay log students learn from.")
                .define(TOPIC_TEACHER_FEATURES_CONFIG, Type.STRING, DEFAULT_TOPICS.teacherFeatures(), new ConfigDef.NonEmptyString(),
                        Importance.MEDIUM, "Companion topic of the teacher's feature maps (TeacherFeatures), one record per "
                        + "teacher output that names it (featuresRef), written in the output's transaction. Only students "
                        + "that distil features read it.")
                .define(TOPIC_DLQ_CONFIG, Type.STRING, DEFAULT_TOPICS.dlq(), new ConfigDef.NonEmptyString(), Importance.MEDIUM,
                        "Dead-letter topic: one FailureEvent per record a stage could not process.")
                .define(TOPIC_METRICS_CONFIG, Type.STRING, DEFAULT_TOPICS.metrics(), new ConfigDef.NonEmptyString(), Importance.MEDIUM,
                        "Per-step training metrics (TrainingStep).")
                .define(TOPIC_EVAL_CONFIG, Type.STRING, DEFAULT_TOPICS.eval(), new ConfigDef.NonEmptyString(), Importance.MEDIUM,
                        "Evaluation results (EvalResult).")
                .define(TOPIC_RUNS_CONFIG, Type.STRING, DEFAULT_TOPICS.runs(), new ConfigDef.NonEmptyString(), Importance.MEDIUM,
                        "Run manifests (RunManifest), keyed by run id.")
                .define(TOPIC_MODEL_SYNC_CONFIG, Type.STRING, DEFAULT_TOPICS.modelSync(), new ConfigDef.NonEmptyString(), Importance.MEDIUM,
                        "Parameter exchange of trainer groups (ModelSync).")
                .define(TOPIC_MONITORS_CONFIG, Type.STRING, DEFAULT_TOPICS.monitors(), new ConfigDef.NonEmptyString(), Importance.MEDIUM,
                        "Monitor results per closed window (MonitorEvent).")
                .define(TOPIC_ALERTS_CONFIG, Type.STRING, DEFAULT_TOPICS.alerts(), new ConfigDef.NonEmptyString(), Importance.MEDIUM,
                        "Alerts raised by the monitors (Alert).")
                .define(TOPICS_PARTITIONS_CONFIG, Type.INT, 4, Range.between(1, 10_000), Importance.MEDIUM, TOPICS_PARTITIONS_DOC)
                .define(TOPICS_REPLICATION_FACTOR_CONFIG, Type.SHORT, (short) 1, Range.between(1, 32), Importance.MEDIUM,
                        TOPICS_REPLICATION_FACTOR_DOC)
                .define(TOPICS_MIN_INSYNC_REPLICAS_CONFIG, Type.INT, 0, Range.between(0, 32), Importance.MEDIUM,
                        TOPICS_MIN_INSYNC_REPLICAS_DOC)
                .define(TOPICS_RETENTION_MS_CONFIG, Type.LONG, SEVEN_DAYS_MS, Range.atLeast(-1), Importance.LOW, TOPICS_RETENTION_MS_DOC)
                .define(TOPIC_TEACHER_OUTPUTS_RETENTION_MS_CONFIG, Type.LONG, -1L, Range.atLeast(-1), Importance.MEDIUM,
                        TOPIC_TEACHER_OUTPUTS_RETENTION_MS_DOC);
    }

    public KdConfig(Map<?, ?> props) {
        this(baseConfigDef(), props);
    }

    protected KdConfig(ConfigDef definition, Map<?, ?> props) {
        super(definition, props, false);
        if (topicMinInsyncReplicas() > topicReplicationFactor()) {
            throw new ConfigException(TOPICS_MIN_INSYNC_REPLICAS_CONFIG + "=" + topicMinInsyncReplicas() + " exceeds "
                    + TOPICS_REPLICATION_FACTOR_CONFIG + "=" + topicReplicationFactor()
                    + ": no write to such a topic could ever be acknowledged by all the replicas it asks for");
        }
    }

    /** Builds the shared config from already-merged properties (see {@link KdConfigLoader}). */
    public static KdConfig fromProperties(Map<String, ?> props) {
        return new KdConfig(props);
    }

    public String bootstrapServers() {
        return String.join(",", getList(BOOTSTRAP_SERVERS_CONFIG));
    }

    public String schemaRegistryUrl() {
        return getString(SCHEMA_REGISTRY_URL_CONFIG);
    }

    public Topics topics() {
        return new Topics(getString(TOPIC_INPUTS_CONFIG), getString(TOPIC_TEACHER_OUTPUTS_CONFIG),
                getString(TOPIC_TEACHER_FEATURES_CONFIG), getString(TOPIC_DLQ_CONFIG),
                getString(TOPIC_METRICS_CONFIG), getString(TOPIC_EVAL_CONFIG), getString(TOPIC_RUNS_CONFIG),
                getString(TOPIC_MODEL_SYNC_CONFIG), getString(TOPIC_MONITORS_CONFIG), getString(TOPIC_ALERTS_CONFIG));
    }

    public int topicPartitions() {
        return getInt(TOPICS_PARTITIONS_CONFIG);
    }

    public short topicReplicationFactor() {
        return getShort(TOPICS_REPLICATION_FACTOR_CONFIG);
    }

    /** {@code min.insync.replicas} of created topics; 0 leaves the broker's setting. */
    public int topicMinInsyncReplicas() {
        return getInt(TOPICS_MIN_INSYNC_REPLICAS_CONFIG);
    }

    public long topicRetentionMs() {
        return getLong(TOPICS_RETENTION_MS_CONFIG);
    }

    public long teacherOutputsRetentionMs() {
        return getLong(TOPIC_TEACHER_OUTPUTS_RETENTION_MS_CONFIG);
    }

    /**
     * Properties for Kafka clients: {@code bootstrap.servers} plus every supplied property that is neither a kdstream
     * key ({@code kd.*}, or a key of this config's definition) nor a serde/registry key. Client factories filter this
     * further to the keys each client type knows.
     */
    public Map<String, Object> clientProperties() {
        Map<String, Object> out = new HashMap<>();
        for (Map.Entry<String, Object> e : originals().entrySet()) {
            String key = e.getKey();
            if (key.startsWith("kd.") || isSerdeKey(key) || (values().containsKey(key) && !key.equals(BOOTSTRAP_SERVERS_CONFIG))) {
                continue;
            }
            out.put(key, e.getValue());
        }
        out.put(BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        return out;
    }

    /** Properties for the Avro serde and registry client: {@code schema.registry.url} plus registry and serde keys. */
    public Map<String, Object> serdeProperties() {
        Map<String, Object> out = new HashMap<>();
        for (Map.Entry<String, Object> e : originals().entrySet()) {
            if (isSerdeKey(e.getKey())) {
                out.put(e.getKey(), e.getValue());
            }
        }
        out.put(SCHEMA_REGISTRY_URL_CONFIG, schemaRegistryUrl());
        return out;
    }

    private static boolean isSerdeKey(String key) {
        return SERDE_KEYS.contains(key) || SERDE_PREFIXES.stream().anyMatch(key::startsWith);
    }

    /** True for keys whose values must never be logged or written into a run manifest. */
    public static boolean isSecretKey(String key) {
        String k = key.toLowerCase(Locale.ROOT);
        return SECRET_MARKERS.stream().anyMatch(k::contains);
    }

    /**
     * Every effective setting (defaults included) plus pass-through properties, sorted, with secret values replaced by
     * {@code [hidden]}: safe to log and to store in a run manifest.
     */
    public Map<String, String> redacted() {
        Map<String, String> out = new TreeMap<>();
        for (Map.Entry<String, Object> e : originals().entrySet()) {
            out.put(e.getKey(), render(e.getKey(), e.getValue()));
        }
        for (Map.Entry<String, ?> e : values().entrySet()) {
            out.put(e.getKey(), render(e.getKey(), e.getValue()));
        }
        return Collections.unmodifiableMap(out);
    }

    private static String render(String key, Object value) {
        if (isSecretKey(key) || value instanceof org.apache.kafka.common.config.types.Password) {
            return "[hidden]";
        }
        if (value instanceof List<?> list) {
            return String.join(",", list.stream().map(String::valueOf).toList());
        }
        return String.valueOf(value);
    }
}
