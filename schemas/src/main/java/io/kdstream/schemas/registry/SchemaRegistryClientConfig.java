package io.kdstream.schemas.registry;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.ValidString;
import org.apache.kafka.common.config.types.Password;

import java.util.Map;

/**
 * Settings of a schema-registry client: credentials, TLS and timeouts. The keys are Confluent's, so an existing
 * Confluent serde configuration works unchanged. Unknown keys are ignored, so a whole serde or client property map
 * can be passed.
 */
public final class SchemaRegistryClientConfig extends AbstractConfig {

    public static final String BASIC_AUTH_CREDENTIALS_SOURCE_CONFIG = "basic.auth.credentials.source";
    private static final String BASIC_AUTH_CREDENTIALS_SOURCE_DOC = "Where the HTTP basic-auth credentials come from: "
            + "USER_INFO (the basic.auth.user.info setting) or URL (the user-info part of schema.registry.url, e.g. "
            + "https://user:password@host:8081).";
    public static final String BASIC_AUTH_USER_INFO_CONFIG = "basic.auth.user.info";
    private static final String BASIC_AUTH_USER_INFO_DOC = "Credentials as user:password, used when "
            + "basic.auth.credentials.source is USER_INFO.";
    public static final String SSL_TRUSTSTORE_LOCATION_CONFIG = "schema.registry.ssl.truststore.location";
    private static final String SSL_TRUSTSTORE_LOCATION_DOC = "Trust store for https:// registries; the JVM default "
            + "trust store when unset.";
    public static final String SSL_TRUSTSTORE_PASSWORD_CONFIG = "schema.registry.ssl.truststore.password";
    private static final String SSL_TRUSTSTORE_PASSWORD_DOC = "Password of the trust store.";
    public static final String SSL_TRUSTSTORE_TYPE_CONFIG = "schema.registry.ssl.truststore.type";
    private static final String SSL_TRUSTSTORE_TYPE_DOC = "Trust store format, e.g. JKS or PKCS12.";
    public static final String SSL_KEYSTORE_LOCATION_CONFIG = "schema.registry.ssl.keystore.location";
    private static final String SSL_KEYSTORE_LOCATION_DOC = "Key store holding the client certificate for mutual TLS; "
            + "none when unset.";
    public static final String SSL_KEYSTORE_PASSWORD_CONFIG = "schema.registry.ssl.keystore.password";
    private static final String SSL_KEYSTORE_PASSWORD_DOC = "Password of the key store.";
    public static final String SSL_KEYSTORE_TYPE_CONFIG = "schema.registry.ssl.keystore.type";
    private static final String SSL_KEYSTORE_TYPE_DOC = "Key store format, e.g. JKS or PKCS12.";
    public static final String SSL_KEY_PASSWORD_CONFIG = "schema.registry.ssl.key.password";
    private static final String SSL_KEY_PASSWORD_DOC = "Password of the private key; the key store password when unset.";
    public static final String REQUEST_TIMEOUT_MS_CONFIG = "schema.registry.request.timeout.ms";
    private static final String REQUEST_TIMEOUT_MS_DOC = "How long one HTTP request may take before the next "
            + "registry URL is tried.";
    public static final String CONNECT_TIMEOUT_MS_CONFIG = "schema.registry.connect.timeout.ms";
    private static final String CONNECT_TIMEOUT_MS_DOC = "How long connecting to a registry may take.";

    public static final String SOURCE_USER_INFO = "USER_INFO";
    public static final String SOURCE_URL = "URL";

    private static final ConfigDef CONFIG = addTo(new ConfigDef());

    public SchemaRegistryClientConfig(Map<?, ?> originals) {
        super(CONFIG, originals, false);
    }

    /** Adds the registry-client keys to {@code def} (used by the serde configuration too) and returns it. */
    public static ConfigDef addTo(ConfigDef def) {
        return def
                .define(BASIC_AUTH_CREDENTIALS_SOURCE_CONFIG, Type.STRING, SOURCE_URL,
                        ValidString.in(SOURCE_USER_INFO, SOURCE_URL), Importance.MEDIUM,
                        BASIC_AUTH_CREDENTIALS_SOURCE_DOC)
                .define(BASIC_AUTH_USER_INFO_CONFIG, Type.PASSWORD, null, Importance.MEDIUM,
                        BASIC_AUTH_USER_INFO_DOC)
                .define(SSL_TRUSTSTORE_LOCATION_CONFIG, Type.STRING, null, Importance.MEDIUM,
                        SSL_TRUSTSTORE_LOCATION_DOC)
                .define(SSL_TRUSTSTORE_PASSWORD_CONFIG, Type.PASSWORD, null, Importance.MEDIUM,
                        SSL_TRUSTSTORE_PASSWORD_DOC)
                .define(SSL_TRUSTSTORE_TYPE_CONFIG, Type.STRING, "JKS", Importance.LOW, SSL_TRUSTSTORE_TYPE_DOC)
                .define(SSL_KEYSTORE_LOCATION_CONFIG, Type.STRING, null, Importance.LOW, SSL_KEYSTORE_LOCATION_DOC)
                .define(SSL_KEYSTORE_PASSWORD_CONFIG, Type.PASSWORD, null, Importance.LOW, SSL_KEYSTORE_PASSWORD_DOC)
                .define(SSL_KEYSTORE_TYPE_CONFIG, Type.STRING, "JKS", Importance.LOW, SSL_KEYSTORE_TYPE_DOC)
                .define(SSL_KEY_PASSWORD_CONFIG, Type.PASSWORD, null, Importance.LOW, SSL_KEY_PASSWORD_DOC)
                .define(REQUEST_TIMEOUT_MS_CONFIG, Type.INT, 30_000, Range.atLeast(1), Importance.LOW,
                        REQUEST_TIMEOUT_MS_DOC)
                .define(CONNECT_TIMEOUT_MS_CONFIG, Type.INT, 10_000, Range.atLeast(1), Importance.LOW,
                        CONNECT_TIMEOUT_MS_DOC);
    }

    /** The key definitions, e.g. for generating documentation. */
    public static ConfigDef configDef() {
        return new ConfigDef(CONFIG);
    }

    String passwordValue(String key) {
        Password password = getPassword(key);
        return password == null ? null : password.value();
    }
}
