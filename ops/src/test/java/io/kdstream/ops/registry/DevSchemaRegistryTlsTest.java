package io.kdstream.ops.registry;

import io.kdstream.avro.Tensor;
import io.kdstream.schemas.registry.SchemaRegistryClient;
import io.kdstream.schemas.registry.SchemaRegistryClientConfig;
import io.kdstream.schemas.registry.SchemaRegistryClients;
import io.kdstream.schemas.registry.SchemaRegistryException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The REST client's trust-store settings against the development registry serving HTTPS on 127.0.0.1. */
class DevSchemaRegistryTlsTest {

    private static final String PASSWORD = "changeit";

    @TempDir
    static Path dir;

    private DevSchemaRegistry registry;

    @BeforeAll
    static void createKeyAndTrustStores() throws Exception {
        Path serverStore = dir.resolve("server.p12");
        keytool("-genkeypair", "-alias", "registry", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1", "-validity", "2",
                "-keystore", serverStore.toString(), "-storetype", "PKCS12", "-storepass", PASSWORD,
                "-keypass", PASSWORD);
        keytool("-exportcert", "-rfc", "-alias", "registry", "-keystore", serverStore.toString(),
                "-storepass", PASSWORD, "-file", dir.resolve("server.pem").toString());
        keytool("-importcert", "-noprompt", "-alias", "registry", "-file", dir.resolve("server.pem").toString(),
                "-keystore", dir.resolve("trust.p12").toString(), "-storetype", "PKCS12", "-storepass", PASSWORD);
    }

    @BeforeEach
    void startHttpsRegistry() {
        registry = DevSchemaRegistry.builder().setStore(new InMemorySchemaStore())
                .optTls(dir.resolve("server.p12"), PASSWORD, "PKCS12").build().start();
    }

    @AfterEach
    void stopRegistry() {
        registry.close();
    }

    @Test
    void shouldTalkHttpsWhenTrustStoreHoldsTheRegistryCertificate() {
        Map<String, Object> config = Map.of(
                SchemaRegistryClientConfig.SSL_TRUSTSTORE_LOCATION_CONFIG, dir.resolve("trust.p12").toString(),
                SchemaRegistryClientConfig.SSL_TRUSTSTORE_PASSWORD_CONFIG, PASSWORD,
                SchemaRegistryClientConfig.SSL_TRUSTSTORE_TYPE_CONFIG, "PKCS12");
        try (SchemaRegistryClient client = SchemaRegistryClients.create(registry.url(), config)) {
            int id = client.register("t-value", Tensor.getClassSchema());

            assertThat(registry.url()).startsWith("https://127.0.0.1:");
            assertThat(client.getById(id)).isEqualTo(Tensor.getClassSchema());
        }
    }

    @Test
    void shouldFailWithNonRetriableErrorWhenCertificateIsNotTrusted() {
        try (SchemaRegistryClient client = SchemaRegistryClients.create(registry.url(), Map.of())) {
            SchemaRegistryException e = catchThrowableOfType(SchemaRegistryException.class, client::subjects);

            assertThat(e.errorCode()).isEqualTo(SchemaRegistryException.TLS_FAILURE);
            assertThat(e).hasMessageContaining(SchemaRegistryClientConfig.SSL_TRUSTSTORE_LOCATION_CONFIG);
        }
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IllegalStateException("keytool failed: " + output);
        }
    }
}
