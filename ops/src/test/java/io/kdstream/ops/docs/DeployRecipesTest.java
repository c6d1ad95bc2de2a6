package io.kdstream.ops.docs;

import io.kdstream.core.config.KdConfig;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.ops.admin.TopicSpec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.junit.jupiter.api.Test;

import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The deployment recipes under {@code ops/deploy} cannot be run here (no container engine, no cluster); this checks
 * what can be checked without one: every file parses, the compose services and their Dockerfiles exist, the Kubernetes
 * resources are complete, the Strimzi topics are the topic catalog (the dashboard's queries: DashboardQueriesTest).
 */
class DeployRecipesTest {

    private static final Path DEPLOY = Path.of("deploy");
    private static final YAMLMapper YAML = new YAMLMapper();

    private static List<JsonNode> documents(Path file) throws Exception {
        List<JsonNode> docs = new ArrayList<>();
        try (Reader r = Files.newBufferedReader(file);
             MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(new YAMLFactory().createParser(r))) {
            while (it.hasNext()) {
                JsonNode n = it.next();
                if (n != null && !n.isNull() && !n.isMissingNode()) {
                    docs.add(n);
                }
            }
        }
        return docs;
    }

    private static List<Path> yamlFiles() throws Exception {
        try (Stream<Path> s = Files.walk(DEPLOY)) {
            return s.filter(p -> p.toString().endsWith(".yml") || p.toString().endsWith(".yaml")).sorted().toList();
        }
    }

    @Test
    void shouldParseEveryYamlFile() throws Exception {
        List<Path> files = yamlFiles();

        assertThat(files).hasSizeGreaterThanOrEqualTo(8);
        for (Path f : files) {
            assertThat(documents(f)).as("documents in %s", f).isNotEmpty();
        }
    }

    @Test
    void shouldComposeKafkaRegistryTeacherTrainersAndMonitorsFromExistingDockerfiles() throws Exception {
        JsonNode compose = documents(DEPLOY.resolve("docker-compose.yml")).get(0);
        JsonNode services = compose.get("services");

        assertThat(iterable(services.fieldNames())).contains("kafka", "schema-registry", "topics", "teacher-service",
                "trainer", "monitor");
        assertThat(services.at("/kafka/environment/KAFKA_PROCESS_ROLES").asText()).isEqualTo("broker,controller");
        assertThat(services.at("/trainer/deploy/replicas").asInt()).isGreaterThan(1);
        for (String s : List.of("teacher-service", "trainer", "monitor")) {
            JsonNode build = services.at("/" + s + "/build");
            Path context = DEPLOY.resolve(build.get("context").asText()).normalize();
            assertThat(context.resolve(build.get("dockerfile").asText())).as("Dockerfile of %s", s).isRegularFile();
        }
        assertThat(DEPLOY.resolve("docker/Dockerfile.base")).isRegularFile();
    }

    @Test
    void shouldDescribeCompleteKubernetesResourcesWithAGpuTeacherAndScalableTrainers() throws Exception {
        JsonNode kustomization = documents(DEPLOY.resolve("k8s/kustomization.yaml")).get(0);
        Map<String, JsonNode> byKindAndName = new HashMap<>();
        for (JsonNode resource : kustomization.get("resources")) {
            Path file = DEPLOY.resolve("k8s").resolve(resource.asText());
            assertThat(file).isRegularFile();
            for (JsonNode doc : documents(file)) {
                assertThat(doc.hasNonNull("apiVersion") && doc.hasNonNull("kind") && doc.at("/metadata/name").isTextual())
                        .as("apiVersion, kind and metadata.name in %s", file).isTrue();
                byKindAndName.put(doc.get("kind").asText() + "/" + doc.at("/metadata/name").asText(), doc);
            }
        }

        JsonNode teacher = byKindAndName.get("Deployment/teacher-service");
        assertThat(teacher.at("/spec/template/spec/containers/0/resources/requests").get("nvidia.com/gpu").asText()).isEqualTo("1");
        JsonNode trainer = byKindAndName.get("StatefulSet/trainer");
        assertThat(trainer.at("/spec/replicas").asInt()).isGreaterThan(1);
        assertThat(byKindAndName).containsKeys("Deployment/monitor", "ConfigMap/kdstream-config",
                "PersistentVolumeClaim/kdstream-models");
    }

    @Test
    void shouldLetTheScaledTrainersTrainOneStudentAsAGroup() throws Exception {
        java.util.Properties compose = new java.util.Properties();
        try (var in = java.nio.file.Files.newBufferedReader(DEPLOY.resolve("docker/kdstream.properties"))) {
            compose.load(in);
        }
        java.util.Properties k8s = new java.util.Properties();
        String data = documents(DEPLOY.resolve("k8s/configmap.yaml")).get(0).at("/data/kdstream.properties").asText();
        k8s.load(new java.io.StringReader(data));
        for (java.util.Properties p : List.of(compose, k8s)) {
            Map<String, Object> props = new HashMap<>();
            p.forEach((k, v) -> props.put(k.toString(), v));
            io.kdstream.trainer.TrainerConfig config = new io.kdstream.trainer.TrainerConfig(props);
            assertThat(config.groupTraining()).isTrue();
            assertThat(config.group()).isNotBlank();
        }
    }

    @Test
    void shouldDeclareTheTopicCatalogAsStrimziTopics() throws Exception {
        Map<String, JsonNode> topics = new HashMap<>();
        for (JsonNode doc : documents(DEPLOY.resolve("k8s/kafka-topics.yaml"))) {
            assertThat(doc.get("kind").asText()).isEqualTo("KafkaTopic");
            assertThat(doc.at("/metadata/labels/strimzi.io~1cluster").asText()).isEqualTo("kdstream");
            topics.put(doc.at("/spec/topicName").asText(), doc.get("spec"));
        }
        List<TopicSpec> catalog = TopicAdmin.catalog(new KdConfig(Map.of()));

        assertThat(topics.keySet()).containsExactlyInAnyOrderElementsOf(catalog.stream().map(TopicSpec::name).toList());
        Set<Integer> partitions = new HashSet<>();
        for (TopicSpec spec : catalog) {
            JsonNode t = topics.get(spec.name());
            partitions.add(t.get("partitions").asInt());
            spec.configs().forEach((k, v) -> assertThat(t.at("/config/" + k).asText()).as("%s of %s", k, spec.name())
                    .isEqualTo(v));
        }
        assertThat(partitions).as("co-partitioned topics").hasSize(1);
    }

    @Test
    void shouldOnlyUseDocumentedSettingsInTheComposeProperties() throws Exception {
        Properties props = new Properties();
        try (Reader r = Files.newBufferedReader(DEPLOY.resolve("docker/kdstream.properties"))) {
            props.load(r);
        }
        Set<String> defined = new HashSet<>();
        ConfigDocs.sections().forEach(s -> defined.addAll(s.def().names()));

        assertThat(defined).containsAll(props.stringPropertyNames());
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
