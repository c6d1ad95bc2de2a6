package io.kdstream.schemas.registry;

import org.apache.kafka.common.config.ConfigException;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Creates the registry client a URL names. */
public final class SchemaRegistryClients {

    /** Prefix of in-process registries: {@code mock://scope}. */
    public static final String MOCK_PREFIX = "mock://";

    private SchemaRegistryClients() {
    }

    /**
     * A client for {@code url}: {@code mock://scope} gives the in-process {@link MockSchemaRegistry} of that scope;
     * one or more comma-separated {@code http://} or {@code https://} URLs give a {@link RestSchemaRegistryClient}
     * that tries them in turn. {@code config} holds the {@link SchemaRegistryClientConfig} keys (others are ignored).
     *
     * @throws ConfigException if the URL is empty, malformed or mixes kinds
     */
    public static SchemaRegistryClient create(String url, Map<String, ?> config) {
        if (url == null || url.isBlank()) {
            throw new ConfigException("schema.registry.url", url, "must name a registry");
        }
        List<String> parts = new ArrayList<>();
        for (String part : url.split(",")) {
            if (!part.isBlank()) {
                parts.add(part.trim());
            }
        }
        if (parts.isEmpty()) {
            throw new ConfigException("schema.registry.url", url, "must name a registry");
        }
        if (parts.get(0).toLowerCase(Locale.ROOT).startsWith(MOCK_PREFIX)) {
            if (parts.size() != 1) {
                throw new ConfigException("schema.registry.url", url, "a mock:// registry cannot be combined with "
                        + "other URLs");
            }
            String scope = parts.get(0).substring(MOCK_PREFIX.length());
            if (scope.isBlank()) {
                throw new ConfigException("schema.registry.url", url, "mock:// needs a scope name, e.g. mock://tests");
            }
            return MockSchemaRegistry.forScope(scope);
        }
        List<URI> uris = new ArrayList<>();
        for (String part : parts) {
            URI uri;
            try {
                uri = URI.create(part);
            } catch (IllegalArgumentException e) {
                throw new ConfigException("schema.registry.url", url, "malformed URL " + part + ": " + e.getMessage());
            }
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
                throw new ConfigException("schema.registry.url", url, "expected mock://scope or http(s)://host:port, "
                        + "got " + part);
            }
            uris.add(uri);
        }
        return new RestSchemaRegistryClient(uris, new SchemaRegistryClientConfig(config == null ? Map.of() : config));
    }
}
