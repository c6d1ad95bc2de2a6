package io.kdstream.ops.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.BasicAuthenticator;
import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.kdstream.schemas.registry.CompatibilityLevel;
import io.kdstream.schemas.registry.RegisteredSchema;
import io.kdstream.schemas.registry.SchemaRegistryException;
import org.apache.avro.Schema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A development schema registry: the subset of the Confluent Schema Registry REST API that kdstream's clients use,
 * over {@code com.sun.net.httpserver}, with Confluent's JSON bodies and error codes, backed by a {@link SchemaStore}.
 *
 * <p>Served: {@code GET /subjects}, {@code GET /subjects/{s}/versions}, {@code POST /subjects/{s}/versions}
 * (register), {@code GET /subjects/{s}/versions/{v|latest}}, {@code POST /subjects/{s}} (lookup),
 * {@code GET /schemas/ids/{id}}, {@code GET /schemas/types},
 * {@code POST /compatibility/subjects/{s}/versions/{v|latest}}, {@code GET|PUT /config} and
 * {@code GET|PUT /config/{s}}. Only Avro schemas without references. Errors: 40401 subject, 40402 version and
 * 40403 schema not found (404), 409 incompatible, 42201 invalid schema, 42202 invalid version, 42203 invalid
 * compatibility level (422), 50001 store error (500), 401 with HTTP basic auth when credentials are configured.
 *
 * <p>Serves HTTPS when given a key store ({@link Builder#optTls}). Binds {@code 127.0.0.1} unless told otherwise; port 0 picks a free one ({@link #port()}). Closing the
 * registry closes its store.
 */
public final class DevSchemaRegistry implements AutoCloseable {

    /** The host the registry binds by default. */
    public static final String DEFAULT_HOST = "127.0.0.1";
    /** Content type of every answer. */
    public static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
    /** Largest request body read (a schema is far smaller). */
    static final int MAX_BODY_BYTES = 8 * 1024 * 1024;

    private static final Logger LOGGER = LoggerFactory.getLogger(DevSchemaRegistry.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String host;
    private final int requestedPort;
    private final SchemaStore store;
    private final String user;
    private final byte[] password;
    private final SSLContext tls;
    private HttpServer server;
    private ExecutorService executor;

    /** A registry on {@code host:port} (0 = ephemeral) without authentication. */
    public DevSchemaRegistry(String host, int port, SchemaStore store) {
        this(builder().optHost(host).optPort(port).setStore(store).validated());
    }

    private DevSchemaRegistry(Builder builder) {
        this.host = builder.host;
        this.requestedPort = builder.port;
        this.store = builder.store;
        this.user = builder.user;
        this.password = builder.password == null ? null : builder.password.getBytes(StandardCharsets.UTF_8);
        this.tls = builder.tls;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Starts the store, then serves; returns this. */
    public synchronized DevSchemaRegistry start() {
        if (server != null) {
            throw new IllegalStateException("registry already started");
        }
        store.start();
        try {
            InetSocketAddress address = new InetSocketAddress(host, requestedPort);
            if (tls == null) {
                server = HttpServer.create(address, 50);
            } else {
                HttpsServer https = HttpsServer.create(address, 50);
                https.setHttpsConfigurator(new HttpsConfigurator(tls));
                server = https;
            }
        } catch (IOException e) {
            store.close();
            throw new UncheckedIOException("cannot bind the schema registry to " + host + ":" + requestedPort, e);
        }
        AtomicInteger threads = new AtomicInteger();
        executor = Executors.newFixedThreadPool(4, runnable -> {
            Thread thread = new Thread(runnable, "kdstream-registry-http-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        server.setExecutor(executor);
        HttpContext context = server.createContext("/", this::handle);
        if (user != null) {
            context.setAuthenticator(new BasicAuthenticator("kdstream-schema-registry", StandardCharsets.UTF_8) {
                @Override
                public boolean checkCredentials(String givenUser, String givenPassword) {
                    boolean userOk = MessageDigest.isEqual(user.getBytes(StandardCharsets.UTF_8),
                            givenUser.getBytes(StandardCharsets.UTF_8));
                    boolean passwordOk = MessageDigest.isEqual(password,
                            givenPassword.getBytes(StandardCharsets.UTF_8));
                    return userOk && passwordOk;
                }
            });
        }
        server.start();
        LOGGER.info("Schema registry listening url={} basicAuth={}", url(), user != null);
        return this;
    }

    /** The bound port. */
    public synchronized int port() {
        if (server == null) {
            throw new IllegalStateException("registry is not started");
        }
        return server.getAddress().getPort();
    }

    /** {@code http://host:port}, or {@code https://host:port} with TLS. */
    public String url() {
        return (tls == null ? "http://" : "https://") + host + ":" + port();
    }

    /** Stops serving and closes the store. Idempotent. */
    @Override
    public synchronized void close() {
        if (server != null) {
            server.stop(0);
            server = null;
            executor.shutdownNow();
            executor = null;
            store.close();
            LOGGER.info("Schema registry stopped");
        }
    }

    // ------------------------------------------------------------------ routing

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            List<String> path = segments(exchange.getRequestURI().getRawPath());
            LOGGER.debug("{} {}", method, exchange.getRequestURI());
            try {
                route(exchange, method, path);
            } catch (SchemaRegistryException e) {
                sendError(exchange, e.httpStatus(), e.errorCode(), messageOf(e));
            } catch (SchemaStoreException e) {
                LOGGER.warn("Schema store failed: {}", e.getMessage());
                sendError(exchange, 500, SchemaRegistryException.STORE_ERROR,
                        "Error in the backend data store: " + e.getMessage());
            } catch (BadRequest e) {
                sendError(exchange, e.status, e.code, e.getMessage());
            } catch (RuntimeException e) {
                LOGGER.warn("Schema registry request {} {} failed", method, exchange.getRequestURI(), e);
                sendError(exchange, 500, 50000, "Internal server error: " + e);
            }
        }
    }

    private void route(HttpExchange exchange, String method, List<String> path) throws IOException {
        int n = path.size();
        String first = n == 0 ? "" : path.get(0);
        switch (first) {
            case "" -> {
                if (n == 0 && method.equals("GET")) {
                    send(exchange, 200, JSON.createObjectNode());
                    return;
                }
            }
            case "subjects" -> {
                if (n == 1 && method.equals("GET")) {
                    ArrayNode subjects = JSON.createArrayNode();
                    store.subjects().forEach(subjects::add);
                    send(exchange, 200, subjects);
                    return;
                }
                if (n == 2 && method.equals("POST")) {
                    send(exchange, 200, registrationJson(store.lookup(path.get(1), schemaOf(exchange))));
                    return;
                }
                if (n == 3 && path.get(2).equals("versions")) {
                    if (method.equals("GET")) {
                        ArrayNode versions = JSON.createArrayNode();
                        store.versions(path.get(1)).forEach(versions::add);
                        send(exchange, 200, versions);
                        return;
                    }
                    if (method.equals("POST")) {
                        RegisteredSchema registered = store.register(path.get(1), schemaOf(exchange));
                        send(exchange, 200, JSON.createObjectNode().put("id", registered.id()));
                        return;
                    }
                }
                if (n == 4 && path.get(2).equals("versions") && method.equals("GET")) {
                    send(exchange, 200, registrationJson(versionOf(path.get(1), path.get(3))));
                    return;
                }
            }
            case "schemas" -> {
                if (n == 3 && path.get(1).equals("ids") && method.equals("GET")) {
                    int id = parseId(path.get(2));
                    send(exchange, 200, JSON.createObjectNode().put("schema", store.byId(id).toString()));
                    return;
                }
                if (n == 2 && path.get(1).equals("types") && method.equals("GET")) {
                    send(exchange, 200, JSON.createArrayNode().add("AVRO"));
                    return;
                }
            }
            case "compatibility" -> {
                if (n == 5 && path.get(1).equals("subjects") && path.get(3).equals("versions")
                        && method.equals("POST")) {
                    send(exchange, 200, JSON.createObjectNode().put("is_compatible",
                            compatible(path.get(2), path.get(4), schemaOf(exchange))));
                    return;
                }
            }
            case "config" -> {
                if (n <= 2 && method.equals("GET")) {
                    CompatibilityLevel level = store.compatibility(n == 2 ? path.get(1) : null);
                    send(exchange, 200, JSON.createObjectNode().put("compatibilityLevel", level.name()));
                    return;
                }
                if (n <= 2 && method.equals("PUT")) {
                    JsonNode body = body(exchange);
                    CompatibilityLevel level = CompatibilityLevel.parse(body.path("compatibility").asText(null));
                    store.setCompatibility(n == 2 ? path.get(1) : null, level);
                    send(exchange, 200, JSON.createObjectNode().put("compatibility", level.name()));
                    return;
                }
            }
            default -> {
            }
        }
        throw new BadRequest(isKnownPath(first) ? 405 : 404, isKnownPath(first) ? 405 : 404,
                (isKnownPath(first) ? "Method not allowed: " : "Not found: ") + method + " /" + String.join("/", path));
    }

    private static boolean isKnownPath(String first) {
        return List.of("subjects", "schemas", "compatibility", "config", "").contains(first);
    }

    private RegisteredSchema versionOf(String subject, String version) {
        if (version.equals("latest") || version.equals("-1")) {
            return store.latest(subject);
        }
        return store.version(subject, parseVersion(version));
    }

    private boolean compatible(String subject, String version, Schema candidate) {
        if (version.equals("latest") || version.equals("-1")) {
            return store.isCompatible(subject, candidate);
        }
        RegisteredSchema against = store.version(subject, parseVersion(version));
        CompatibilityLevel level = store.compatibility(subject);
        return level.allows(candidate, List.of(against.schema()));
    }

    // ------------------------------------------------------------------ request parsing

    private Schema schemaOf(HttpExchange exchange) throws IOException {
        JsonNode body = body(exchange);
        JsonNode type = body.get("schemaType");
        if (type != null && !type.isNull() && !"AVRO".equals(type.asText())) {
            throw new BadRequest(422, SchemaRegistryException.INVALID_SCHEMA,
                    "Unsupported schema type " + type.asText() + ": only AVRO is served");
        }
        JsonNode references = body.get("references");
        if (references != null && references.isArray() && !references.isEmpty()) {
            throw new BadRequest(422, SchemaRegistryException.INVALID_SCHEMA, "Schema references are not supported");
        }
        JsonNode text = body.get("schema");
        if (text == null || !text.isTextual()) {
            throw new BadRequest(422, SchemaRegistryException.INVALID_SCHEMA, "Request has no 'schema' string");
        }
        try {
            return new Schema.Parser().parse(text.textValue());
        } catch (RuntimeException e) {
            // SchemaParseException, or a NullPointerException for an unknown type name
            throw new BadRequest(422, SchemaRegistryException.INVALID_SCHEMA, "Invalid schema: " + e.getMessage());
        }
    }

    private static JsonNode body(HttpExchange exchange) throws IOException {
        byte[] bytes;
        try (InputStream in = exchange.getRequestBody()) {
            bytes = in.readNBytes(MAX_BODY_BYTES + 1);
        }
        if (bytes.length > MAX_BODY_BYTES) {
            throw new BadRequest(413, 413, "Request body larger than " + MAX_BODY_BYTES + " bytes");
        }
        try {
            JsonNode node = JSON.readTree(bytes);
            if (node == null || !node.isObject()) {
                throw new BadRequest(400, 400, "Request body must be a JSON object");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new BadRequest(400, 400, "Malformed JSON: " + e.getOriginalMessage());
        }
    }

    private static int parseVersion(String text) {
        try {
            int version = Integer.parseInt(text);
            if (version >= 1) {
                return version;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw new BadRequest(422, SchemaRegistryException.INVALID_VERSION,
                "The specified version '" + text + "' is not a valid version id. Allowed values are between "
                        + "[1, 2^31-1] and the string \"latest\"");
    }

    private static int parseId(String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new BadRequest(404, SchemaRegistryException.SCHEMA_NOT_FOUND, "Schema " + text + " not found");
        }
    }

    private static List<String> segments(String rawPath) {
        List<String> out = new ArrayList<>();
        if (rawPath == null) {
            return out;
        }
        for (String part : rawPath.split("/")) {
            if (!part.isEmpty()) {
                out.add(URLDecoder.decode(part.replace("+", "%2B"), StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ answers

    private static ObjectNode registrationJson(RegisteredSchema registration) {
        return JSON.createObjectNode()
                .put("subject", registration.subject())
                .put("version", registration.version())
                .put("id", registration.id())
                .put("schema", registration.schema().toString());
    }

    private static void sendError(HttpExchange exchange, int status, int code, String message) throws IOException {
        send(exchange, status, JSON.createObjectNode().put("error_code", code).put("message", message));
    }

    private static void send(HttpExchange exchange, int status, JsonNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** The message without the code suffix {@link SchemaRegistryException} adds. */
    private static String messageOf(SchemaRegistryException e) {
        String message = e.getMessage();
        int suffix = message.lastIndexOf(" (error_code ");
        return suffix > 0 ? message.substring(0, suffix) : message;
    }

    /** A request the registry refuses, with HTTP status and Confluent error code. */
    private static final class BadRequest extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final int status;
        private final int code;

        BadRequest(int status, int code, String message) {
            super(message);
            this.status = status;
            this.code = code;
        }
    }

    /** Builds a {@link DevSchemaRegistry}: the store is required. */
    public static final class Builder {
        private String host = DEFAULT_HOST;
        private int port;
        private SchemaStore store;
        private String user;
        private String password;
        private SSLContext tls;

        private Builder() {
        }

        /** Where schemas are kept. */
        public Builder setStore(SchemaStore store) {
            this.store = store;
            return this;
        }

        /** Host to bind (default 127.0.0.1). */
        public Builder optHost(String host) {
            this.host = host;
            return this;
        }

        /** Port to bind; 0 (default) picks a free one. */
        public Builder optPort(int port) {
            this.port = port;
            return this;
        }

        /**
         * Serves HTTPS with the key and certificate in {@code keyStore} (type e.g. PKCS12 or JKS; the key password
         * is the store password).
         *
         * @throws IllegalArgumentException if the store cannot be read or used
         */
        public Builder optTls(Path keyStore, String storePassword, String storeType) {
            try (InputStream in = Files.newInputStream(keyStore)) {
                KeyStore store = KeyStore.getInstance(storeType);
                char[] secret = storePassword == null ? new char[0] : storePassword.toCharArray();
                store.load(in, secret);
                KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                keys.init(store, secret);
                SSLContext context = SSLContext.getInstance("TLS");
                context.init(keys.getKeyManagers(), null, null);
                this.tls = context;
            } catch (IOException | GeneralSecurityException e) {
                throw new IllegalArgumentException("cannot use key store " + keyStore + " for TLS: " + e, e);
            }
            return this;
        }

        /** Requires HTTP basic auth with these credentials; requests without them get 401. */
        public Builder optBasicAuth(String user, String password) {
            this.user = Objects.requireNonNull(user, "user");
            this.password = Objects.requireNonNull(password, "password");
            return this;
        }

        public DevSchemaRegistry build() {
            return new DevSchemaRegistry(validated());
        }

        private Builder validated() {
            if (store == null) {
                throw new IllegalArgumentException("a schema store is required");
            }
            if (host == null || host.isBlank()) {
                throw new IllegalArgumentException("host must not be blank");
            }
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be in [0, 65535], got " + port);
            }
            if (user != null && (user.isEmpty() || user.contains(":"))) {
                throw new IllegalArgumentException("user must be non-empty and contain no ':'");
            }
            return this;
        }
    }
}
