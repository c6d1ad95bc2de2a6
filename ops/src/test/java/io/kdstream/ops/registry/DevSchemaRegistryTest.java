package io.kdstream.ops.registry;

import io.kdstream.avro.InputRecord;
import io.kdstream.avro.Tensor;
import io.kdstream.schemas.registry.RegisteredSchema;
import io.kdstream.schemas.registry.SchemaRegistryClient;
import io.kdstream.schemas.registry.SchemaRegistryClientConfig;
import io.kdstream.schemas.registry.SchemaRegistryClients;
import io.kdstream.schemas.registry.SchemaRegistryException;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.serde.KdSerdeConfig;
import io.kdstream.schemas.serde.SchemaRegistryUnavailableException;
import io.kdstream.schemas.tensor.TensorCodec;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The REST client against the development registry over real HTTP on 127.0.0.1. */
class DevSchemaRegistryTest {

    private static final Schema V1 = SchemaBuilder.record("Sample").namespace("io.kdstream.test").fields()
            .requiredString("id").endRecord();
    private static final Schema V2_WITH_DEFAULT = SchemaBuilder.record("Sample").namespace("io.kdstream.test")
            .fields().requiredString("id").name("weight").type().doubleType().doubleDefault(1.0).endRecord();
    private static final Schema V2_NO_DEFAULT = SchemaBuilder.record("Sample").namespace("io.kdstream.test")
            .fields().requiredString("id").requiredDouble("weight").endRecord();

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private DevSchemaRegistry registry;
    private SchemaRegistryClient client;

    @BeforeEach
    void startRegistry() {
        registry = started(DevSchemaRegistry.builder().setStore(new InMemorySchemaStore()).build());
        client = client(registry.url(), Map.of());
    }

    @AfterEach
    void stopEverything() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    @Test
    void shouldRegisterAndServeSchemasByIdSubjectAndVersion() {
        int v1 = client.register("sample-value", V1);
        int v2 = client.register("sample-value", V2_WITH_DEFAULT);
        int again = client.register("other-value", V1);

        assertThat(v2).isGreaterThan(v1);
        assertThat(again).isEqualTo(v1);
        assertThat(registry.port()).isPositive();
        // a fresh client has no cache: everything comes over HTTP
        SchemaRegistryClient fresh = client(registry.url(), Map.of());
        assertThat(fresh.getById(v1)).isEqualTo(V1);
        assertThat(fresh.getById(v2)).isEqualTo(V2_WITH_DEFAULT);
        assertThat(fresh.latest("sample-value")).isEqualTo(new RegisteredSchema("sample-value", 2, v2, V2_WITH_DEFAULT));
        assertThat(fresh.version("sample-value", 1)).isEqualTo(new RegisteredSchema("sample-value", 1, v1, V1));
        assertThat(fresh.idOf("sample-value", V2_WITH_DEFAULT)).isEqualTo(v2);
        assertThat(fresh.idOf("other-value", V1)).isEqualTo(v1);
        assertThat(fresh.subjects()).containsExactly("other-value", "sample-value");
        assertThat(fresh.register("sample-value", V1)).isEqualTo(v1);
    }

    @Test
    void shouldCheckCompatibilityAndRefuseIncompatibleRegistration() {
        client.register("s", V1);

        assertThat(client.isCompatible("s", V2_WITH_DEFAULT)).isTrue();
        assertThat(client.isCompatible("s", V2_NO_DEFAULT)).isFalse();
        assertThat(client.isCompatible("no-such-subject", V2_NO_DEFAULT)).isTrue();
        SchemaRegistryException e = catchThrowableOfType(SchemaRegistryException.class,
                () -> client.register("s", V2_NO_DEFAULT));
        assertThat(e.errorCode()).isEqualTo(SchemaRegistryException.INCOMPATIBLE_SCHEMA);
        assertThat(e.httpStatus()).isEqualTo(409);
    }

    @Test
    void shouldMapConfluentErrorCodes() throws Exception {
        client.register("s", V1);

        assertThat(code(() -> client.latest("missing"))).isEqualTo(SchemaRegistryException.SUBJECT_NOT_FOUND);
        assertThat(code(() -> client.version("s", 7))).isEqualTo(SchemaRegistryException.VERSION_NOT_FOUND);
        assertThat(code(() -> client.getById(424242))).isEqualTo(SchemaRegistryException.SCHEMA_NOT_FOUND);
        assertThat(code(() -> client.idOf("s", V2_WITH_DEFAULT))).isEqualTo(SchemaRegistryException.SCHEMA_NOT_FOUND);
        assertThat(code(() -> client.idOf("missing", V1))).isEqualTo(SchemaRegistryException.SUBJECT_NOT_FOUND);
        assertThat(catchThrowableOfType(SchemaRegistryException.class, () -> client.latest("missing")).isNotFound())
                .isTrue();

        HttpResponse<String> invalid = raw("POST", "/subjects/s/versions", "{\"schema\": \"{\\\"type\\\": \\\"nope\\\"}\"}");
        assertThat(invalid.statusCode()).isEqualTo(422);
        assertThat(invalid.body()).contains("\"error_code\":42201");
        assertThat(invalid.headers().firstValue("Content-Type")).hasValue(DevSchemaRegistry.CONTENT_TYPE);
        HttpResponse<String> badVersion = raw("GET", "/subjects/s/versions/zero", null);
        assertThat(badVersion.statusCode()).isEqualTo(422);
        assertThat(badVersion.body()).contains("\"error_code\":42202");
        assertThat(raw("POST", "/subjects/s/versions", "not json").statusCode()).isEqualTo(400);
        assertThat(raw("GET", "/nothing/here", null).statusCode()).isEqualTo(404);
        assertThat(raw("DELETE", "/subjects/s", null).statusCode()).isEqualTo(405);
    }

    @Test
    void shouldServeVersionListsAndCompatibilityConfig() throws Exception {
        client.register("s", V1);
        client.register("s", V2_WITH_DEFAULT);

        assertThat(raw("GET", "/subjects/s/versions", null).body()).isEqualTo("[1,2]");
        assertThat(raw("GET", "/config", null).body()).contains("\"compatibilityLevel\":\"BACKWARD\"");
        HttpResponse<String> put = raw("PUT", "/config/s", "{\"compatibility\":\"NONE\"}");
        assertThat(put.statusCode()).isEqualTo(200);
        assertThat(raw("GET", "/config/s", null).body()).contains("NONE");
        assertThat(client.register("s", V2_NO_DEFAULT)).isPositive();
        assertThat(raw("PUT", "/config", "{\"compatibility\":\"SIDEWAYS\"}").body()).contains("42203");
        assertThat(raw("POST", "/compatibility/subjects/s/versions/1",
                "{\"schema\":" + quoted(V2_WITH_DEFAULT.toString()) + "}").body()).contains("\"is_compatible\":true");
    }

    @Test
    void shouldEncodeSubjectNamesInPaths() {
        String subject = "odd subject/with+chars-ä";

        int id = client.register(subject, V1);

        assertThat(client.subjects()).containsExactly(subject);
        assertThat(client.latest(subject).subject()).isEqualTo(subject);
        assertThat(client(registry.url(), Map.of()).idOf(subject, V1)).isEqualTo(id);
    }

    @Test
    void shouldRoundTripRecordsThroughSerdesOverHttp() {
        Map<String, Object> config = Map.of(KdSerdeConfig.SCHEMA_REGISTRY_URL_CONFIG, registry.url());
        InputRecord record = InputRecord.newBuilder().setId("fm-1").setSource("train")
                .setInput(TensorCodec.fromUint8(new byte[] {1, 2, 3, 4}, 2, 2)).setLabel(5)
                .setTimestampMs(Instant.ofEpochMilli(1_700_000_000_000L)).build();
        try (KdAvroSerde<InputRecord> writer = KdAvroSerdes.value(InputRecord.class, config);
             KdAvroSerde<InputRecord> reader = KdAvroSerdes.value(InputRecord.class, config)) {
            byte[] wire = writer.serializer().serialize("kd.inputs", record);

            assertThat(reader.deserializer().deserialize("kd.inputs", wire)).isEqualTo(record);
            assertThat(client.subjects()).containsExactly("kd.inputs-value");
            assertThat(client.latest("kd.inputs-value").schema()).isEqualTo(InputRecord.getClassSchema());
        }
    }

    @Test
    void shouldSendBasicAuthCredentialsAndBeRefusedWithoutThem() {
        DevSchemaRegistry secured = started(DevSchemaRegistry.builder().setStore(new InMemorySchemaStore())
                .optBasicAuth("kd", "s3cret:pw").build());
        String url = secured.url();

        SchemaRegistryClient withUserInfo = client(url, Map.of(
                SchemaRegistryClientConfig.BASIC_AUTH_CREDENTIALS_SOURCE_CONFIG, "USER_INFO",
                SchemaRegistryClientConfig.BASIC_AUTH_USER_INFO_CONFIG, "kd:s3cret:pw"));
        int id = withUserInfo.register("s", Tensor.getClassSchema());
        SchemaRegistryClient withUrlCredentials = client(url.replace("http://", "http://kd:s3cret%3Apw@"), Map.of());
        assertThat(withUrlCredentials.getById(id)).isEqualTo(Tensor.getClassSchema());

        SchemaRegistryException anonymous = catchThrowableOfType(SchemaRegistryException.class,
                () -> client(url, Map.of()).getById(id));
        SchemaRegistryException wrong = catchThrowableOfType(SchemaRegistryException.class,
                () -> client(url, Map.of(SchemaRegistryClientConfig.BASIC_AUTH_CREDENTIALS_SOURCE_CONFIG, "USER_INFO",
                        SchemaRegistryClientConfig.BASIC_AUTH_USER_INFO_CONFIG, "kd:wrong")).subjects());
        assertThat(anonymous.httpStatus()).isEqualTo(401);
        assertThat(anonymous.isAuthorizationFailure()).isTrue();
        assertThat(wrong.httpStatus()).isEqualTo(401);
    }

    @Test
    void shouldCheckTheExactAuthorizationHeader() throws Exception {
        DevSchemaRegistry secured = started(DevSchemaRegistry.builder().setStore(new InMemorySchemaStore())
                .optBasicAuth("kd", "pw").build());
        String good = "Basic " + Base64.getEncoder().encodeToString("kd:pw".getBytes());

        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> ok = http.send(HttpRequest.newBuilder(URI.create(secured.url() + "/subjects"))
                .header("Authorization", good).build(), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> refused = http.send(HttpRequest.newBuilder(URI.create(secured.url() + "/subjects"))
                .build(), HttpResponse.BodyHandlers.ofString());

        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(refused.statusCode()).isEqualTo(401);
    }

    @Test
    void shouldTryNextUrlWhenOneIsDownAndReportUnavailableWhenAllAre() throws IOException {
        int dead = deadPort();
        SchemaRegistryClient failover = client("http://127.0.0.1:" + dead + "," + registry.url(), Map.of());

        int id = failover.register("s", V1);

        assertThat(client.getById(id)).isEqualTo(V1);
        SchemaRegistryClient down = client("http://127.0.0.1:" + dead + ",http://127.0.0.1:" + deadPort(), Map.of());
        assertThatThrownBy(() -> down.subjects())
                .isInstanceOf(SchemaRegistryUnavailableException.class)
                .hasMessageContaining("tried 2 URL(s)");
    }

    @Test
    void shouldAnswerStoreFailuresWith50001WhichClientsTreatAsUnavailable() {
        SchemaStore failing = new InMemorySchemaStore() {
            @Override
            public RegisteredSchema register(String subject, Schema schema) {
                throw new SchemaStoreException("topic unreachable", null);
            }
        };
        DevSchemaRegistry broken = started(DevSchemaRegistry.builder().setStore(failing).build());

        assertThatThrownBy(() -> client(broken.url(), Map.of()).register("s", V1))
                .isInstanceOf(SchemaRegistryUnavailableException.class)
                .hasMessageContaining("50001");
    }

    @Test
    void shouldBindLoopbackByDefaultAndStopOnClose() {
        DevSchemaRegistry other = DevSchemaRegistry.builder().setStore(new InMemorySchemaStore()).build().start();
        String url = other.url();
        other.close();
        other.close();

        assertThat(url).startsWith("http://127.0.0.1:");
        assertThatThrownBy(() -> client(url, Map.of(SchemaRegistryClientConfig.CONNECT_TIMEOUT_MS_CONFIG, 2000))
                .subjects()).isInstanceOf(SchemaRegistryUnavailableException.class);
    }

    // ------------------------------------------------------------------ helpers

    private DevSchemaRegistry started(DevSchemaRegistry server) {
        server.start();
        toClose.add(server);
        return server;
    }

    private SchemaRegistryClient client(String url, Map<String, ?> config) {
        SchemaRegistryClient c = SchemaRegistryClients.create(url, config);
        toClose.add(c);
        return c;
    }

    private HttpResponse<String> raw(String method, String path, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(registry.url() + path))
                .header("Content-Type", DevSchemaRegistry.CONTENT_TYPE)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String quoted(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static int code(Runnable call) {
        return catchThrowableOfType(SchemaRegistryException.class, call::run).errorCode();
    }

    private static int deadPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
