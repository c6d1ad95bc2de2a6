package io.kdstream.ops.cli;

import io.kdstream.core.config.KdConfig;
import io.kdstream.core.config.KdConfigLoader;

import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * How a command reaches Kafka and the schema registry, spelled the way Kafka's own tools spell it. Precedence, lowest
 * first: built-in defaults (the local stack: {@value KdConfig#DEFAULT_BOOTSTRAP_SERVERS} and
 * {@value KdConfig#DEFAULT_SCHEMA_REGISTRY_URL}), the {@code --config} properties file, {@code KDSTREAM_*} environment
 * variables, then the flags.
 */
public final class ConnectionOptions {

    @Option(names = {"--bootstrap-server", "--bootstrap-servers"}, paramLabel = "HOST:PORT[,...]",
            description = "Kafka broker(s) to connect to (default: " + KdConfig.DEFAULT_BOOTSTRAP_SERVERS + ").")
    String bootstrapServers;

    @Option(names = "--schema-registry-url", paramLabel = "URL",
            description = "Schema registry, http(s)://host:port or mock://scope (default: "
                    + KdConfig.DEFAULT_SCHEMA_REGISTRY_URL + ").")
    String schemaRegistryUrl;

    @Option(names = {"--config", "--command-config"}, paramLabel = "FILE",
            description = "Properties file with any Kafka client setting (security.protocol, sasl.*, ssl.*, ...) and "
                    + "kdstream settings (schema.registry.url, basic.auth.*, kd.*).")
    Path configFile;

    /** The merged properties, reading {@code KDSTREAM_*} variables from the process environment. */
    public Map<String, String> properties() {
        return properties(System.getenv());
    }

    /** The merged properties: file, then {@code KDSTREAM_*} variables of {@code env}, then the flags. */
    public Map<String, String> properties(Map<String, String> env) {
        Map<String, String> flags = new TreeMap<>();
        if (bootstrapServers != null) {
            flags.put(KdConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers.trim());
        }
        if (schemaRegistryUrl != null) {
            flags.put(KdConfig.SCHEMA_REGISTRY_URL_CONFIG, schemaRegistryUrl.trim());
        }
        return KdConfigLoader.load(configFile, env, flags);
    }

    /** The effective configuration, reading {@code KDSTREAM_*} variables from the process environment. */
    public KdConfig config() {
        return config(System.getenv());
    }

    /** The effective configuration, reading {@code KDSTREAM_*} variables from {@code env}. */
    public KdConfig config(Map<String, String> env) {
        return KdConfig.fromProperties(properties(env));
    }
}
