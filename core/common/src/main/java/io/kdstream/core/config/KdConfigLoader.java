package io.kdstream.core.config;

import io.kdstream.core.KdException;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

/**
 * Merges configuration from, lowest precedence first: a {@code .properties} file, environment variables, then explicit
 * overrides (command-line flags).
 *
 * <p>Environment variables named {@code KDSTREAM_<KEY>} set {@code <key>}, with the rule Kafka's container images use:
 * lower-cased, {@code _} becomes {@code .}, {@code __} becomes {@code _} and {@code ___} becomes {@code -}. So
 * {@code KDSTREAM_BOOTSTRAP_SERVERS} sets {@code bootstrap.servers} and {@code KDSTREAM_SASL_JAAS_CONFIG} sets
 * {@code sasl.jaas.config}. {@code KDSTREAM_HOME} and {@code KDSTREAM_OPTS} belong to the launcher and are ignored.
 */
public final class KdConfigLoader {
    public static final String ENV_PREFIX = "KDSTREAM_";
    private static final Set<String> RESERVED_ENV = Set.of("KDSTREAM_HOME", "KDSTREAM_OPTS", "KDSTREAM_JAVA");

    private KdConfigLoader() {
    }

    /**
     * @param file      a properties file, or null
     * @param env       the environment (normally {@code System.getenv()})
     * @param overrides values that win over everything else
     * @return the merged properties, sorted by key
     * @throws KdException when the file cannot be read
     */
    public static Map<String, String> load(Path file, Map<String, String> env, Map<String, String> overrides) {
        Map<String, String> merged = new TreeMap<>();
        if (file != null) {
            merged.putAll(readProperties(file));
        }
        merged.putAll(fromEnvironment(env));
        merged.putAll(overrides);
        return merged;
    }

    /** Reads a properties file into a map. */
    public static Map<String, String> readProperties(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new KdException("Config file not found: " + file);
        }
        Properties props = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            props.load(reader);
        } catch (IOException e) {
            throw new KdException("Cannot read config file " + file + ": " + e.getMessage(), e);
        }
        Map<String, String> out = new TreeMap<>();
        for (String name : props.stringPropertyNames()) {
            out.put(name, props.getProperty(name).trim());
        }
        return out;
    }

    /** The properties set by {@code KDSTREAM_*} environment variables. */
    public static Map<String, String> fromEnvironment(Map<String, String> env) {
        Map<String, String> out = new TreeMap<>();
        for (Map.Entry<String, String> e : env.entrySet()) {
            String name = e.getKey();
            if (!name.startsWith(ENV_PREFIX) || RESERVED_ENV.contains(name) || name.length() == ENV_PREFIX.length()) {
                continue;
            }
            out.put(envToKey(name.substring(ENV_PREFIX.length())), e.getValue());
        }
        return out;
    }

    /** {@code SASL_JAAS_CONFIG} → {@code sasl.jaas.config}; {@code A__B} → {@code a_b}; {@code A___B} → {@code a-b}. */
    static String envToKey(String suffix) {
        String lower = suffix.toLowerCase(Locale.ROOT);
        StringBuilder out = new StringBuilder(lower.length());
        int i = 0;
        while (i < lower.length()) {
            if (lower.startsWith("___", i)) {
                out.append('-');
                i += 3;
            } else if (lower.startsWith("__", i)) {
                out.append('_');
                i += 2;
            } else if (lower.charAt(i) == '_') {
                out.append('.');
                i++;
            } else {
                out.append(lower.charAt(i));
                i++;
            }
        }
        return out.toString();
    }
}
