package io.kdstream.schemas.serde;

import io.kdstream.schemas.registry.SchemaRegistryClientConfig;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;

import java.util.Map;

/**
 * Configuration of the kdstream Avro serdes. The registry keys are Confluent's, so existing serde properties work;
 * the registry-client keys (credentials, TLS, timeouts) are those of {@link SchemaRegistryClientConfig}.
 */
public final class KdSerdeConfig extends AbstractConfig {

    public static final String SCHEMA_REGISTRY_URL_CONFIG = "schema.registry.url";
    private static final String SCHEMA_REGISTRY_URL_DOC = "The schema registry: mock://scope for an in-process one "
            + "(tests), or one or more comma-separated http(s):// URLs of a Confluent-compatible registry, tried in "
            + "turn.";
    public static final String AUTO_REGISTER_SCHEMAS_CONFIG = "auto.register.schemas";
    private static final String AUTO_REGISTER_SCHEMAS_DOC = "Whether the serializer registers the record's schema "
            + "under the topic's subject; when false it looks the schema up and fails if it is not registered.";
    public static final String USE_LATEST_VERSION_CONFIG = "use.latest.version";
    private static final String USE_LATEST_VERSION_DOC = "Whether the serializer writes with the subject's latest "
            + "registered schema (the record is resolved onto it) instead of the record's own schema. Takes "
            + "precedence over auto.register.schemas.";
    public static final String LATEST_CACHE_TTL_SEC_CONFIG = "latest.cache.ttl.sec";
    private static final String LATEST_CACHE_TTL_SEC_DOC = "How long the serializer keeps the latest version of a "
            + "subject before asking the registry again (use.latest.version).";
    public static final String BASIC_AUTH_CREDENTIALS_SOURCE_CONFIG =
            SchemaRegistryClientConfig.BASIC_AUTH_CREDENTIALS_SOURCE_CONFIG;
    public static final String BASIC_AUTH_USER_INFO_CONFIG = SchemaRegistryClientConfig.BASIC_AUTH_USER_INFO_CONFIG;
    public static final String SSL_TRUSTSTORE_LOCATION_CONFIG =
            SchemaRegistryClientConfig.SSL_TRUSTSTORE_LOCATION_CONFIG;
    public static final String SSL_TRUSTSTORE_PASSWORD_CONFIG =
            SchemaRegistryClientConfig.SSL_TRUSTSTORE_PASSWORD_CONFIG;
    public static final String SSL_TRUSTSTORE_TYPE_CONFIG = SchemaRegistryClientConfig.SSL_TRUSTSTORE_TYPE_CONFIG;
    public static final String RECORD_CLASS_CONFIG = "kdstream.avro.record.class";
    private static final String RECORD_CLASS_DOC = "The generated Avro class (SpecificRecord) the deserializer "
            + "returns, when it is created by class name.";
    public static final String MAX_RECORD_BYTES_CONFIG = "kdstream.avro.max.record.bytes";
    private static final String MAX_RECORD_BYTES_DOC = "Largest Avro payload (after the 5-byte header) the serdes "
            + "write or read; larger records fail with an OVERSIZED error before anything is decoded.";
    public static final int MAX_RECORD_BYTES_DEFAULT = 64 * 1024 * 1024;
    public static final String VALIDATE_TENSORS_CONFIG = "kdstream.avro.validate.tensors";
    private static final String VALIDATE_TENSORS_DOC = "Whether the deserializer checks every Tensor in a record "
            + "(shape matches data, no negative or overflowing dimension) and rejects the record otherwise.";

    private static final ConfigDef CONFIG = SchemaRegistryClientConfig.addTo(new ConfigDef()
            .define(SCHEMA_REGISTRY_URL_CONFIG, Type.STRING, ConfigDef.NO_DEFAULT_VALUE,
                    new ConfigDef.NonEmptyString(), Importance.HIGH, SCHEMA_REGISTRY_URL_DOC)
            .define(AUTO_REGISTER_SCHEMAS_CONFIG, Type.BOOLEAN, true, Importance.MEDIUM, AUTO_REGISTER_SCHEMAS_DOC)
            .define(USE_LATEST_VERSION_CONFIG, Type.BOOLEAN, false, Importance.MEDIUM, USE_LATEST_VERSION_DOC)
            .define(LATEST_CACHE_TTL_SEC_CONFIG, Type.LONG, 60L, Range.atLeast(0), Importance.LOW,
                    LATEST_CACHE_TTL_SEC_DOC)
            .define(RECORD_CLASS_CONFIG, Type.CLASS, null, Importance.MEDIUM, RECORD_CLASS_DOC)
            .define(MAX_RECORD_BYTES_CONFIG, Type.INT, MAX_RECORD_BYTES_DEFAULT, Range.between(16, Integer.MAX_VALUE - 8),
                    Importance.MEDIUM, MAX_RECORD_BYTES_DOC)
            .define(VALIDATE_TENSORS_CONFIG, Type.BOOLEAN, true, Importance.LOW, VALIDATE_TENSORS_DOC));

    public KdSerdeConfig(Map<?, ?> originals) {
        super(CONFIG, originals, false);
    }

    /** The key definitions, e.g. for generating documentation. */
    public static ConfigDef configDef() {
        return new ConfigDef(CONFIG);
    }

    public String schemaRegistryUrl() {
        return getString(SCHEMA_REGISTRY_URL_CONFIG);
    }

    public boolean autoRegisterSchemas() {
        return getBoolean(AUTO_REGISTER_SCHEMAS_CONFIG);
    }

    public boolean useLatestVersion() {
        return getBoolean(USE_LATEST_VERSION_CONFIG);
    }

    public long latestCacheTtlMs() {
        return getLong(LATEST_CACHE_TTL_SEC_CONFIG) * 1000L;
    }

    public int maxRecordBytes() {
        return getInt(MAX_RECORD_BYTES_CONFIG);
    }

    public boolean validateTensors() {
        return getBoolean(VALIDATE_TENSORS_CONFIG);
    }

    /** The configured record class, or null. */
    public Class<?> recordClass() {
        return getClass(RECORD_CLASS_CONFIG);
    }
}
