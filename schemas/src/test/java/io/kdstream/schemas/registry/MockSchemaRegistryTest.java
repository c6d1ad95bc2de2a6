package io.kdstream.schemas.registry;

import io.kdstream.avro.InputRecord;
import io.kdstream.avro.Tensor;
import io.kdstream.schemas.testing.TestRecords;
import org.apache.avro.Schema;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class MockSchemaRegistryTest {

    private static final Schema V2 = TestRecords.evolutionSchema("InputRecord-v2.avsc");
    private static final Schema NO_DEFAULT = TestRecords.evolutionSchema("InputRecord-v2-nodefault.avsc");

    private final String scope = TestRecords.freshScope();
    private final SchemaRegistryClient registry = SchemaRegistryClients.create("mock://" + scope, Map.of());

    @AfterEach
    void dropScope() {
        MockSchemaRegistry.dropScope(scope);
    }

    @Test
    void shouldGiveSameIdToSameSchemaUnderTwoSubjectsAndNewIdsIncreasing() {
        int a = registry.register("a-value", InputRecord.getClassSchema());
        int b = registry.register("b-value", InputRecord.getClassSchema());
        int tensor = registry.register("a-key", Tensor.getClassSchema());
        int v2 = registry.register("a-value", V2);

        assertThat(b).isEqualTo(a);
        assertThat(tensor).isGreaterThan(a);
        assertThat(v2).isGreaterThan(tensor);
        assertThat(registry.register("a-value", InputRecord.getClassSchema())).isEqualTo(a);
        assertThat(registry.latest("a-value")).isEqualTo(new RegisteredSchema("a-value", 2, v2, V2));
        assertThat(registry.version("a-value", 1).id()).isEqualTo(a);
        assertThat(registry.version("b-value", 1).id()).isEqualTo(a);
        assertThat(registry.getById(v2)).isEqualTo(V2);
        assertThat(registry.subjects()).containsExactly("a-key", "a-value", "b-value");
    }

    @Test
    void shouldShareStateAcrossClientsOfOneScopeOnly() {
        int id = registry.register("s", Tensor.getClassSchema());

        assertThat(SchemaRegistryClients.create("mock://" + scope, Map.of()).getById(id))
                .isEqualTo(Tensor.getClassSchema());
        assertThat(SchemaRegistryClients.create("mock://" + scope + "-other", Map.of()).subjects()).isEmpty();
        MockSchemaRegistry.dropScope(scope);
        assertThat(SchemaRegistryClients.create("mock://" + scope, Map.of()).subjects()).isEmpty();
        MockSchemaRegistry.dropScope(scope + "-other");
    }

    @Test
    void shouldReportMissingSubjectVersionAndSchemaWithConfluentCodes() {
        registry.register("s", InputRecord.getClassSchema());

        assertThat(code(() -> registry.latest("nope"))).isEqualTo(SchemaRegistryException.SUBJECT_NOT_FOUND);
        assertThat(code(() -> registry.version("s", 9))).isEqualTo(SchemaRegistryException.VERSION_NOT_FOUND);
        assertThat(code(() -> registry.getById(999))).isEqualTo(SchemaRegistryException.SCHEMA_NOT_FOUND);
        assertThat(code(() -> registry.idOf("s", V2))).isEqualTo(SchemaRegistryException.SCHEMA_NOT_FOUND);
        assertThat(code(() -> registry.idOf("nope", V2))).isEqualTo(SchemaRegistryException.SUBJECT_NOT_FOUND);
        assertThat(registry.idOf("s", InputRecord.getClassSchema())).isEqualTo(registry.latest("s").id());
    }

    @Test
    void shouldRefuseIncompatibleSchemaUnderDefaultBackwardLevel() {
        registry.register("s", InputRecord.getClassSchema());

        SchemaRegistryException e = catchThrowableOfType(SchemaRegistryException.class,
                () -> registry.register("s", NO_DEFAULT));

        assertThat(e.errorCode()).isEqualTo(SchemaRegistryException.INCOMPATIBLE_SCHEMA);
        assertThat(registry.isCompatible("s", NO_DEFAULT)).isFalse();
        assertThat(registry.isCompatible("s", V2)).isTrue();
        assertThat(registry.isCompatible("fresh", NO_DEFAULT)).isTrue();
        assertThat(registry.latest("s").version()).isEqualTo(1);
    }

    @Test
    void shouldApplyPerSubjectCompatibilityLevels() {
        MockSchemaRegistry mock = MockSchemaRegistry.forScope(scope);
        mock.register("s", InputRecord.getClassSchema());
        mock.setCompatibility("s", CompatibilityLevel.NONE);

        assertThat(mock.register("s", NO_DEFAULT)).isPositive();

        // latest needs weight (no default): a schema without it reads old data (BACKWARD) but old readers
        // cannot read its data (FORWARD), so FULL refuses it
        mock.setCompatibility("f", CompatibilityLevel.NONE);
        mock.register("f", NO_DEFAULT);
        mock.setCompatibility("f", CompatibilityLevel.BACKWARD);
        assertThat(mock.isCompatible("f", InputRecord.getClassSchema())).isTrue();
        mock.setCompatibility("f", CompatibilityLevel.FORWARD);
        assertThat(mock.isCompatible("f", InputRecord.getClassSchema())).isFalse();
        mock.setCompatibility("f", CompatibilityLevel.FULL);
        assertThat(mock.isCompatible("f", InputRecord.getClassSchema())).isFalse();
        assertThat(mock.isCompatible("f", V2)).isTrue();
    }

    @Test
    void shouldCheckTransitiveLevelsAgainstEveryVersion() {
        RegistryState state = new RegistryState();
        state.register("s", NO_DEFAULT);                      // v1: weight without default
        state.setCompatibility("s", CompatibilityLevel.NONE);
        state.register("s", InputRecord.getClassSchema());    // v2: no weight
        state.setCompatibility("s", CompatibilityLevel.BACKWARD);
        assertThat(state.isCompatible("s", V2)).isTrue();    // v2 -> V2 ok (default)
        state.setCompatibility("s", CompatibilityLevel.FORWARD_TRANSITIVE);
        // v1 reader needs weight, V2 writes it: fine; v2 reader ignores it: fine
        assertThat(state.isCompatible("s", V2)).isTrue();
        state.setCompatibility("s", CompatibilityLevel.BACKWARD_TRANSITIVE);
        assertThat(state.isCompatible("s", V2)).isTrue();
        assertThat(state.isCompatible("s", NO_DEFAULT)).isFalse(); // cannot read v2 data (no weight)
    }

    @Test
    void shouldRejectMalformedRegistryUrls() {
        assertThatThrownBy(() -> SchemaRegistryClients.create("", Map.of())).isInstanceOf(ConfigException.class);
        assertThatThrownBy(() -> SchemaRegistryClients.create("mock://", Map.of()))
                .isInstanceOf(ConfigException.class);
        assertThatThrownBy(() -> SchemaRegistryClients.create("ftp://host", Map.of()))
                .isInstanceOf(ConfigException.class);
        assertThatThrownBy(() -> SchemaRegistryClients.create("mock://a,http://h:1", Map.of()))
                .isInstanceOf(ConfigException.class);
        assertThat(SchemaRegistryClients.create(" http://a:1 , https://b:2/ccompat ", Map.of()))
                .isInstanceOfSatisfying(RestSchemaRegistryClient.class, c -> assertThat(c.baseUris())
                        .extracting(Object::toString).containsExactly("http://a:1", "https://b:2/ccompat"));
    }

    @Test
    void shouldRequireUserInfoWhenCredentialsSourceIsUserInfo() {
        assertThatThrownBy(() -> SchemaRegistryClients.create("http://a:1",
                Map.of(SchemaRegistryClientConfig.BASIC_AUTH_CREDENTIALS_SOURCE_CONFIG, "USER_INFO")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(SchemaRegistryClientConfig.BASIC_AUTH_USER_INFO_CONFIG);
        assertThatThrownBy(() -> SchemaRegistryClients.create("https://a:1",
                Map.of(SchemaRegistryClientConfig.SSL_TRUSTSTORE_LOCATION_CONFIG, "/does/not/exist.jks")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("/does/not/exist.jks");
    }

    private static int code(Runnable call) {
        return catchThrowableOfType(SchemaRegistryException.class, call::run).errorCode();
    }
}
