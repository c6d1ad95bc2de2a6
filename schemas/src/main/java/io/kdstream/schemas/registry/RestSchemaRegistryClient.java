package io.kdstream.schemas.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kdstream.schemas.serde.SchemaRegistryUnavailableException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;
import org.apache.kafka.common.config.ConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A client of the Confluent Schema Registry REST API (also served by Apicurio's ccompat API, Redpanda, Karapace and
 * the kdstream development registry), on {@code java.net.http}.
 *
 * <p>Several base URLs are tried in turn; a registry that cannot be reached, times out or answers 5xx makes the
 * client try the next, and when none answers it throws the retriable
 * {@link SchemaRegistryUnavailableException}. Any other error answer becomes a {@link SchemaRegistryException} with
 * the Confluent error code. Schemas by id and ids by (subject, schema) are cached for the life of the client, since
 * a registry never changes them.
 */
public final class RestSchemaRegistryClient implements SchemaRegistryClient {

    /** The content type of the Confluent REST API. */
    public static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

    private static final Logger LOGGER = LoggerFactory.getLogger(RestSchemaRegistryClient.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private record SubjectSchema(String subject, String schemaText) {
    }

    private final List<URI> baseUris;
    private final HttpClient http;
    private final Optional<String> authorization;
    private final Duration requestTimeout;
    private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();
    private final Map<SubjectSchema, Integer> idsBySubjectSchema = new ConcurrentHashMap<>();

    /**
     * A client of the registries at {@code baseUris} (tried in order).
     *
     * @throws ConfigException if the credentials or TLS settings are unusable
     */
    public RestSchemaRegistryClient(List<URI> baseUris, SchemaRegistryClientConfig config) {
        if (baseUris == null || baseUris.isEmpty()) {
            throw new ConfigException("schema.registry.url", baseUris, "needs at least one URL");
        }
        String userInfoFromUrl = null;
        List<URI> plain = new ArrayList<>();
        for (URI uri : baseUris) {
            if (uri.getRawUserInfo() != null && userInfoFromUrl == null) {
                userInfoFromUrl = URLDecoder.decode(uri.getRawUserInfo().replace("+", "%2B"), StandardCharsets.UTF_8);
            }
            plain.add(withoutUserInfo(uri));
        }
        this.baseUris = List.copyOf(plain);
        this.authorization = authorization(config, userInfoFromUrl);
        this.requestTimeout = Duration.ofMillis(config.getInt(SchemaRegistryClientConfig.REQUEST_TIMEOUT_MS_CONFIG));
        HttpClient.Builder builder = HttpClient.newBuilder()
                .connectTimeout(Duration.ofMillis(config.getInt(SchemaRegistryClientConfig.CONNECT_TIMEOUT_MS_CONFIG)))
                .followRedirects(HttpClient.Redirect.NEVER);
        sslContext(config).ifPresent(builder::sslContext);
        this.http = builder.build();
    }

    /** The base URLs, without credentials, in the order they are tried. */
    public List<URI> baseUris() {
        return baseUris;
    }

    @Override
    public int register(String subject, Schema schema) {
        SubjectSchema key = new SubjectSchema(subject, schema.toString());
        Integer cached = idsBySubjectSchema.get(key);
        if (cached != null) {
            return cached;
        }
        JsonNode answer = call("POST", "/subjects/" + encode(subject) + "/versions", schemaBody(schema));
        int id = requiredInt(answer, "id");
        idsBySubjectSchema.put(key, id);
        schemasById.putIfAbsent(id, schema);
        return id;
    }

    @Override
    public Schema getById(int id) {
        Schema cached = schemasById.get(id);
        if (cached != null) {
            return cached;
        }
        JsonNode answer = call("GET", "/schemas/ids/" + id, null);
        checkSchemaType(answer);
        Schema schema = parse(requiredText(answer, "schema"));
        Schema previous = schemasById.putIfAbsent(id, schema);
        return previous == null ? schema : previous;
    }

    @Override
    public RegisteredSchema latest(String subject) {
        return registered(subject, call("GET", "/subjects/" + encode(subject) + "/versions/latest", null));
    }

    @Override
    public RegisteredSchema version(String subject, int version) {
        return registered(subject, call("GET", "/subjects/" + encode(subject) + "/versions/" + version, null));
    }

    @Override
    public int idOf(String subject, Schema schema) {
        SubjectSchema key = new SubjectSchema(subject, schema.toString());
        Integer cached = idsBySubjectSchema.get(key);
        if (cached != null) {
            return cached;
        }
        RegisteredSchema registered = registered(subject, call("POST", "/subjects/" + encode(subject),
                schemaBody(schema)));
        idsBySubjectSchema.put(key, registered.id());
        return registered.id();
    }

    @Override
    public boolean isCompatible(String subject, Schema schema) {
        JsonNode answer;
        try {
            answer = call("POST", "/compatibility/subjects/" + encode(subject) + "/versions/latest",
                    schemaBody(schema));
        } catch (SchemaRegistryException e) {
            if (e.errorCode() == SchemaRegistryException.SUBJECT_NOT_FOUND
                    || e.errorCode() == SchemaRegistryException.VERSION_NOT_FOUND) {
                return true; // nothing registered yet: anything is compatible
            }
            throw e;
        }
        JsonNode flag = answer.get("is_compatible");
        if (flag == null || !flag.isBoolean()) {
            throw new SchemaRegistryException(SchemaRegistryException.STORE_ERROR, 200,
                    "compatibility answer has no is_compatible flag: " + answer);
        }
        return flag.booleanValue();
    }

    @Override
    public List<String> subjects() {
        JsonNode answer = call("GET", "/subjects", null);
        if (!answer.isArray()) {
            throw new SchemaRegistryException(SchemaRegistryException.STORE_ERROR, 200,
                    "subjects answer is not a JSON array: " + answer);
        }
        List<String> subjects = new ArrayList<>();
        answer.forEach(node -> subjects.add(node.asText()));
        subjects.sort(null);
        return List.copyOf(subjects);
    }

    @Override
    public void close() {
        // HttpClient of Java 17 has no close(); its threads end when it is unreachable
        schemasById.clear();
        idsBySubjectSchema.clear();
    }

    // ------------------------------------------------------------------ HTTP

    private JsonNode call(String method, String path, String body) {
        Exception lastFailure = null;
        IOException tlsFailure = null;
        String lastWhere = null;
        for (URI base : baseUris) {
            URI uri = URI.create(stripTrailingSlash(base.toString()) + path);
            HttpRequest.Builder request = HttpRequest.newBuilder(uri)
                    .timeout(requestTimeout)
                    .header("Accept", CONTENT_TYPE + ", application/json");
            authorization.ifPresent(value -> request.header("Authorization", value));
            if (body == null) {
                request.method(method, HttpRequest.BodyPublishers.noBody());
            } else {
                request.header("Content-Type", CONTENT_TYPE)
                        .method(method, HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
            }
            HttpResponse<String> response;
            try {
                response = http.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            } catch (IOException e) {
                LOGGER.debug("schema registry {} {} failed: {}", method, uri, e.toString());
                if (e instanceof SSLException || e.getCause() instanceof SSLException) {
                    tlsFailure = e;
                }
                lastFailure = e;
                lastWhere = uri.toString();
                continue;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SchemaRegistryUnavailableException("interrupted while calling the schema registry at "
                        + uri, e);
            }
            int status = response.statusCode();
            if (status >= 200 && status < 300) {
                return readJson(uri, response.body());
            }
            if (status >= 500 || status == 408 || status == 429) {
                LOGGER.debug("schema registry {} {} answered {}", method, uri, status);
                lastFailure = errorOf(status, response.body());
                lastWhere = uri.toString();
                continue;
            }
            throw errorOf(status, response.body());
        }
        if (tlsFailure != null) {
            // a certificate the trust store does not accept will not get better by retrying
            throw new SchemaRegistryException(SchemaRegistryException.TLS_FAILURE, 0, "TLS with the schema registry failed (check "
                    + SchemaRegistryClientConfig.SSL_TRUSTSTORE_LOCATION_CONFIG + "): " + tlsFailure, tlsFailure);
        }
        throw new SchemaRegistryUnavailableException("schema registry unavailable (tried " + baseUris.size()
                + " URL(s), last " + lastWhere + "): " + (lastFailure == null ? "no answer" : lastFailure), lastFailure);
    }

    private static JsonNode readJson(URI uri, String body) {
        try {
            return JSON.readTree(body == null || body.isEmpty() ? "{}" : body);
        } catch (JsonProcessingException e) {
            throw new SchemaRegistryException(SchemaRegistryException.STORE_ERROR, 200, "schema registry at " + uri
                    + " answered with invalid JSON", e);
        }
    }

    private static SchemaRegistryException errorOf(int status, String body) {
        int code = status == 401 ? SchemaRegistryException.UNAUTHORIZED
                : status == 403 ? SchemaRegistryException.FORBIDDEN : status;
        String message = body == null || body.isBlank() ? "HTTP " + status : body;
        try {
            JsonNode node = JSON.readTree(body);
            if (node != null && node.isObject()) {
                if (node.path("error_code").isInt()) {
                    code = node.get("error_code").intValue();
                }
                if (node.path("message").isTextual()) {
                    message = node.get("message").textValue();
                }
            }
        } catch (JsonProcessingException | IllegalArgumentException e) {
            // not a Confluent error body: keep the status and raw text
        }
        if (message.length() > 500) {
            message = message.substring(0, 500) + "...";
        }
        return new SchemaRegistryException(code, status, message);
    }

    private static String schemaBody(Schema schema) {
        ObjectNode body = JSON.createObjectNode();
        body.put("schema", schema.toString());
        return body.toString();
    }

    private static RegisteredSchema registered(String subject, JsonNode answer) {
        checkSchemaType(answer);
        String answeredSubject = answer.path("subject").isTextual() ? answer.get("subject").textValue() : subject;
        return new RegisteredSchema(answeredSubject, requiredInt(answer, "version"), requiredInt(answer, "id"),
                parse(requiredText(answer, "schema")));
    }

    private static void checkSchemaType(JsonNode answer) {
        JsonNode type = answer.get("schemaType");
        if (type != null && type.isTextual() && !"AVRO".equals(type.textValue())) {
            throw new SchemaRegistryException(SchemaRegistryException.INVALID_SCHEMA, 200,
                    "schema is of type " + type.textValue() + ", only AVRO is supported");
        }
    }

    private static int requiredInt(JsonNode answer, String field) {
        JsonNode node = answer.get(field);
        if (node == null || !node.canConvertToInt()) {
            throw new SchemaRegistryException(SchemaRegistryException.STORE_ERROR, 200,
                    "registry answer has no integer '" + field + "': " + abbreviate(answer));
        }
        return node.intValue();
    }

    private static String requiredText(JsonNode answer, String field) {
        JsonNode node = answer.get(field);
        if (node == null || !node.isTextual()) {
            throw new SchemaRegistryException(SchemaRegistryException.STORE_ERROR, 200,
                    "registry answer has no text '" + field + "': " + abbreviate(answer));
        }
        return node.textValue();
    }

    private static Schema parse(String text) {
        try {
            return new Schema.Parser().parse(text);
        } catch (SchemaParseException | NullPointerException | IllegalArgumentException e) {
            // Avro reports some invalid schemas (unknown type names) as NullPointerException
            throw new SchemaRegistryException(SchemaRegistryException.INVALID_SCHEMA, 200,
                    "registry returned an invalid Avro schema: " + e.getMessage(), e);
        }
    }

    private static String abbreviate(JsonNode node) {
        String text = String.valueOf(node);
        return text.length() > 200 ? text.substring(0, 200) + "..." : text;
    }

    /** Percent-encodes one path segment. */
    static String encode(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String stripTrailingSlash(String text) {
        return text.endsWith("/") ? text.substring(0, text.length() - 1) : text;
    }

    private static URI withoutUserInfo(URI uri) {
        if (uri.getRawUserInfo() == null) {
            return uri;
        }
        try {
            return new URI(uri.getScheme(), null, uri.getHost(), uri.getPort(), uri.getPath(), null, null);
        } catch (URISyntaxException e) {
            throw new ConfigException("schema.registry.url", uri.getHost(), "malformed URL: " + e.getMessage());
        }
    }

    // ------------------------------------------------------------------ credentials and TLS

    private static Optional<String> authorization(SchemaRegistryClientConfig config, String userInfoFromUrl) {
        String source = config.getString(SchemaRegistryClientConfig.BASIC_AUTH_CREDENTIALS_SOURCE_CONFIG);
        String userInfo = SchemaRegistryClientConfig.SOURCE_USER_INFO.equals(source)
                ? config.passwordValue(SchemaRegistryClientConfig.BASIC_AUTH_USER_INFO_CONFIG)
                : userInfoFromUrl;
        if (SchemaRegistryClientConfig.SOURCE_USER_INFO.equals(source) && (userInfo == null || userInfo.isEmpty())) {
            throw new ConfigException(SchemaRegistryClientConfig.BASIC_AUTH_USER_INFO_CONFIG, "(hidden)",
                    "must be set to user:password when " + SchemaRegistryClientConfig.BASIC_AUTH_CREDENTIALS_SOURCE_CONFIG
                            + " is USER_INFO");
        }
        if (userInfo == null) {
            return Optional.empty();
        }
        if (!userInfo.contains(":")) {
            throw new ConfigException(SchemaRegistryClientConfig.BASIC_AUTH_USER_INFO_CONFIG, "(hidden)",
                    "credentials must have the form user:password");
        }
        return Optional.of("Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8)));
    }

    private static Optional<SSLContext> sslContext(SchemaRegistryClientConfig config) {
        String trustLocation = config.getString(SchemaRegistryClientConfig.SSL_TRUSTSTORE_LOCATION_CONFIG);
        String keyLocation = config.getString(SchemaRegistryClientConfig.SSL_KEYSTORE_LOCATION_CONFIG);
        if (trustLocation == null && keyLocation == null) {
            return Optional.empty();
        }
        try {
            TrustManagerFactory trust = null;
            if (trustLocation != null) {
                KeyStore store = load(SchemaRegistryClientConfig.SSL_TRUSTSTORE_LOCATION_CONFIG, trustLocation,
                        config.getString(SchemaRegistryClientConfig.SSL_TRUSTSTORE_TYPE_CONFIG),
                        config.passwordValue(SchemaRegistryClientConfig.SSL_TRUSTSTORE_PASSWORD_CONFIG));
                trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                trust.init(store);
            }
            KeyManagerFactory keys = null;
            if (keyLocation != null) {
                String storePassword = config.passwordValue(SchemaRegistryClientConfig.SSL_KEYSTORE_PASSWORD_CONFIG);
                String keyPassword = config.passwordValue(SchemaRegistryClientConfig.SSL_KEY_PASSWORD_CONFIG);
                KeyStore store = load(SchemaRegistryClientConfig.SSL_KEYSTORE_LOCATION_CONFIG, keyLocation,
                        config.getString(SchemaRegistryClientConfig.SSL_KEYSTORE_TYPE_CONFIG), storePassword);
                keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                String effective = keyPassword != null ? keyPassword : storePassword;
                keys.init(store, effective == null ? new char[0] : effective.toCharArray());
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys == null ? null : keys.getKeyManagers(), trust == null ? null : trust.getTrustManagers(),
                    null);
            return Optional.of(context);
        } catch (GeneralSecurityException e) {
            throw new ConfigException(SchemaRegistryClientConfig.SSL_TRUSTSTORE_LOCATION_CONFIG, trustLocation,
                    "cannot set up TLS for the schema registry: " + e.getMessage());
        }
    }

    private static KeyStore load(String key, String location, String type, String password)
            throws GeneralSecurityException {
        KeyStore store = KeyStore.getInstance(type);
        try (InputStream in = Files.newInputStream(Path.of(location))) {
            store.load(in, password == null ? null : password.toCharArray());
        } catch (IOException e) {
            throw new ConfigException(key, location, "cannot read the store: " + e.getMessage());
        }
        return store;
    }
}
