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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
        JsonNode trainer = byKindAndName.get("Job/trainer");
        assertThat(trainer.at("/spec/parallelism").asInt()).isGreaterThan(1);
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

    // ---- images -------------------------------------------------------------------------------------------------

    /** The instructions of a Dockerfile, continuation lines joined, comments dropped. */
    private static List<String> instructions(Path dockerfile) throws Exception {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : Files.readAllLines(dockerfile)) {
            String t = line.strip();
            if (t.startsWith("#") || t.isEmpty()) {
                continue;
            }
            if (t.endsWith("\\")) {
                current.append(t, 0, t.length() - 1).append(' ');
                continue;
            }
            out.add(current.append(t).toString());
            current.setLength(0);
        }
        return out;
    }

    private static List<String> instructions(Path dockerfile, String keyword) throws Exception {
        return instructions(dockerfile).stream().filter(i -> i.startsWith(keyword + " ")).toList();
    }

    /** The paths of a Dockerfile's VOLUME instructions. */
    private static List<String> volumes(Path dockerfile) throws Exception {
        List<String> out = new ArrayList<>();
        for (String v : instructions(dockerfile, "VOLUME")) {
            Matcher m = Pattern.compile("\"([^\"]+)\"").matcher(v);
            while (m.find()) {
                out.add(m.group(1));
            }
        }
        return out;
    }

    /** The value an ENV instruction of {@code dockerfile} gives {@code name}, or null. */
    private static String env(Path dockerfile, String name) throws Exception {
        for (String e : instructions(dockerfile, "ENV")) {
            Matcher m = Pattern.compile("\\b" + name + "=(\"[^\"]*\"|\\S+)").matcher(e);
            if (m.find()) {
                return m.group(1).replace("\"", "");
            }
        }
        return null;
    }

    private static final Path BASE = DEPLOY.resolve("docker/Dockerfile.base");
    private static final Map<String, Path> SERVICE_IMAGES = Map.of(
            "teacher-service", DEPLOY.resolve("docker/teacher-service.Dockerfile"),
            "trainer", DEPLOY.resolve("docker/trainer.Dockerfile"),
            "monitor", DEPLOY.resolve("docker/monitor.Dockerfile"));

    private static int maxRamPercentage(String javaOptions) {
        Matcher m = Pattern.compile("-XX:MaxRAMPercentage=([0-9.]+)").matcher(javaOptions);
        assertThat(m.find()).as("MaxRAMPercentage in '%s'", javaOptions).isTrue();
        return (int) Double.parseDouble(m.group(1));
    }

    @Test
    void shouldRunAsANumericUserThatOwnsEveryVolumeFolderOfTheImages() throws Exception {
        String user = instructions(BASE, "USER").get(instructions(BASE, "USER").size() - 1).substring(5).trim();
        String run = String.join("\n", instructions(BASE, "RUN"));

        assertThat(user).as("USER of the runtime image").matches("10001(:10001)?");
        assertThat(run).contains("chown -R 10001:10001 /var/lib/kdstream");
        for (Path dockerfile : SERVICE_IMAGES.values()) {
            for (String volume : volumes(dockerfile)) {
                assertThat(volume).as("VOLUME of %s", dockerfile).startsWith("/var/lib/kdstream/");
                assertThat(run).as("%s of %s created in the base image", volume, dockerfile)
                        .containsPattern("mkdir -p [^&]*" + Pattern.quote(volume) + "(\\s|$)");
            }
        }
    }

    @Test
    void shouldServeMetricsOnEveryServiceImageAndLeaveRoomOutsideTheHeap() throws Exception {
        for (Map.Entry<String, Path> image : SERVICE_IMAGES.entrySet()) {
            Path dockerfile = image.getValue();
            String port = env(dockerfile, "KDSTREAM_METRICS_PORT");

            assertThat(port).as("KDSTREAM_METRICS_PORT of %s", dockerfile).isEqualTo("9404");
            assertThat(env(dockerfile, "KDSTREAM_METRICS_HOST")).as("metrics bound beyond loopback in %s", dockerfile)
                    .isEqualTo("0.0.0.0");
            assertThat(instructions(dockerfile, "EXPOSE")).as("EXPOSE of %s", dockerfile)
                    .anyMatch(e -> List.of(e.substring(7).trim().split("\\s+")).contains(port));
        }
        assertThat(maxRamPercentage(env(BASE, "JAVA_TOOL_OPTIONS"))).as("heap share of the base image").isLessThanOrEqualTo(50);
    }

    @Test
    void shouldDocumentHowToBuildEveryImage() throws Exception {
        String deployDoc = Files.readString(Path.of("..", "docs", "deploy.md"));
        List<Path> dockerfiles;
        try (Stream<Path> s = Files.list(DEPLOY.resolve("docker"))) {
            dockerfiles = s.filter(p -> p.getFileName().toString().contains("Dockerfile")).sorted().toList();
        }

        assertThat(dockerfiles).hasSize(4);
        for (Path d : dockerfiles) {
            assertThat(deployDoc).as("build command of %s in docs/deploy.md", d)
                    .contains("docker build -f ops/deploy/docker/" + d.getFileName());
        }
        assertThat(deployDoc).contains("ops/deploy/kafka-image/build.sh");
    }

    // ---- compose ------------------------------------------------------------------------------------------------

    @Test
    void shouldKeepTheBrokerLogAndTheMonitorStateOnNamedVolumes() throws Exception {
        JsonNode compose = documents(DEPLOY.resolve("docker-compose.yml")).get(0);
        JsonNode kafka = compose.at("/services/kafka");
        String logDirs = kafka.at("/environment/KAFKA_LOG_DIRS").asText();
        Map<String, String> kafkaVolumes = namedVolumes(kafka);

        assertThat(logDirs).as("KAFKA_LOG_DIRS").isNotBlank();
        for (String dir : logDirs.split(",")) {
            assertThat(kafkaVolumes).as("a named volume holding %s", dir).containsValue(dir);
        }
        assertThat(namedVolumes(compose.at("/services/monitor"))).containsValue("/var/lib/kdstream/state");
        for (JsonNode service : compose.get("services")) {
            for (String volume : namedVolumes(service).keySet()) {
                assertThat(compose.get("volumes").has(volume)).as("volume %s declared", volume).isTrue();
            }
        }
        String startSh = Files.readString(DEPLOY.resolve("kafka-image/start.sh"));
        assertThat(startSh).as("the test image reads KAFKA_LOG_DIRS like apache/kafka").contains("log.dirs=")
                .doesNotContain("log.dirs=/tmp");
    }

    /** A compose service's named-volume mounts: volume name to path. */
    private static Map<String, String> namedVolumes(JsonNode service) {
        Map<String, String> out = new HashMap<>();
        for (JsonNode v : service.path("volumes")) {
            String[] parts = v.asText().split(":");
            if (parts.length >= 2 && parts[0].matches("[A-Za-z0-9][A-Za-z0-9_.-]*")) {
                out.put(parts[0], parts[1]);
            }
        }
        return out;
    }

    @Test
    void shouldLetEveryTrainerReplicaReportUnderItsOwnId() throws Exception {
        Properties props = new Properties();
        try (Reader r = Files.newBufferedReader(DEPLOY.resolve("docker/kdstream.properties"))) {
            props.load(r);
        }
        JsonNode trainer = documents(DEPLOY.resolve("docker-compose.yml")).get(0).at("/services/trainer");

        // the replicas differ only by host name, from which trainer.id then comes (TrainCommand)
        assertThat(props.stringPropertyNames()).doesNotContain("trainer.id");
        assertThat(trainer.path("environment").has("KDSTREAM_TRAINER_ID")).isFalse();
        assertThat(trainer.has("hostname")).as("a fixed host name would be shared by the replicas").isFalse();
    }

    @Test
    void shouldScrapeEveryServiceOnItsMetricsPort() throws Exception {
        JsonNode prometheus = documents(DEPLOY.resolve("prometheus/prometheus.yml")).get(0);
        JsonNode services = documents(DEPLOY.resolve("docker-compose.yml")).get(0).get("services");
        Set<String> scraped = new HashSet<>();
        for (JsonNode job : prometheus.get("scrape_configs")) {
            for (JsonNode sc : job.path("static_configs")) {
                for (JsonNode t : sc.get("targets")) {
                    String[] hostPort = t.asText().split(":");
                    assertThat(hostPort[1]).isEqualTo("9404");
                    scraped.add(hostPort[0]);
                }
            }
            for (JsonNode dns : job.path("dns_sd_configs")) {
                assertThat(dns.get("port").asInt()).isEqualTo(9404);
                dns.get("names").forEach(n -> scraped.add(n.asText()));
            }
        }

        assertThat(scraped).containsExactlyInAnyOrderElementsOf(SERVICE_IMAGES.keySet());
        scraped.forEach(s -> assertThat(services.has(s)).as("compose service %s", s).isTrue());
    }

    // ---- Kubernetes ---------------------------------------------------------------------------------------------

    private static Map<String, JsonNode> kubernetes() throws Exception {
        Map<String, JsonNode> out = new HashMap<>();
        for (JsonNode resource : documents(DEPLOY.resolve("k8s/kustomization.yaml")).get(0).get("resources")) {
            for (JsonNode doc : documents(DEPLOY.resolve("k8s").resolve(resource.asText()))) {
                out.put(doc.get("kind").asText() + "/" + doc.at("/metadata/name").asText(), doc);
            }
        }
        return out;
    }

    private static final List<String> WORKLOADS = List.of("Deployment/teacher-service", "Job/trainer", "Deployment/monitor");

    /** The ports a container of {@code image} listens on, as its Dockerfile and the services' defaults say. */
    private static Set<Integer> listening(String image) throws Exception {
        Set<Integer> ports = new HashSet<>();
        for (Map.Entry<String, Path> e : SERVICE_IMAGES.entrySet()) {
            if (image.startsWith("kdstream-" + e.getKey())) {
                ports.add(Integer.parseInt(env(e.getValue(), "KDSTREAM_METRICS_PORT")));
                if (e.getKey().equals("monitor")) {
                    ports.add((Integer) io.kdstream.streams.MonitorConfig.configDef().defaultValues()
                            .get(io.kdstream.streams.MonitorConfig.HTTP_PORT_CONFIG));
                }
            }
        }
        return ports;
    }

    @Test
    void shouldProbeEveryWorkloadOnTheHealthEndpointsOfAPortItListensOn() throws Exception {
        Map<String, JsonNode> k8s = kubernetes();
        for (String name : WORKLOADS) {
            JsonNode container = k8s.get(name).at("/spec/template/spec/containers/0");
            Map<String, Integer> named = new HashMap<>();
            container.path("ports").forEach(p -> named.put(p.get("name").asText(), p.get("containerPort").asInt()));
            Set<Integer> listening = listening(container.get("image").asText());

            assertThat(listening).as("ports of %s", name).isNotEmpty();
            assertThat(named.values()).as("container ports of %s", name).allMatch(listening::contains);
            for (String probe : List.of("livenessProbe", "readinessProbe")) {
                JsonNode get = container.at("/" + probe + "/httpGet");
                assertThat(get.get("path").asText()).as("%s of %s", probe, name)
                        .isEqualTo(probe.startsWith("liveness") ? "/health/live" : "/health/ready");
                assertThat(named).as("%s port of %s", probe, name).containsKey(get.get("port").asText());
            }
        }
    }

    @Test
    void shouldAdvertiseOnlyPortsThatTheSelectedPodsListenOn() throws Exception {
        Map<String, JsonNode> k8s = kubernetes();
        int checked = 0;
        for (JsonNode service : k8s.values()) {
            if (!service.get("kind").asText().equals("Service")) {
                continue;
            }
            String app = service.at("/spec/selector/app.kubernetes.io~1name").asText();
            JsonNode container = WORKLOADS.stream().map(k8s::get)
                    .filter(w -> w.at("/spec/template/metadata/labels/app.kubernetes.io~1name").asText().equals(app))
                    .findFirst().orElseThrow().at("/spec/template/spec/containers/0");
            Map<String, Integer> named = new HashMap<>();
            container.path("ports").forEach(p -> named.put(p.get("name").asText(), p.get("containerPort").asInt()));
            for (JsonNode port : service.at("/spec/ports")) {
                JsonNode target = port.get("targetPort");
                int containerPort = target == null ? port.get("port").asInt()
                        : target.isInt() ? target.asInt() : named.getOrDefault(target.asText(), -1);
                assertThat(listening(container.get("image").asText())).as("port %s of Service %s", port, app)
                        .contains(containerPort);
                checked++;
            }
        }
        assertThat(checked).isGreaterThanOrEqualTo(3);
    }

    @Test
    void shouldReplaceTheGpuTeacherRatherThanRollItAndRunTrainersAsAnIndexedJob() throws Exception {
        Map<String, JsonNode> k8s = kubernetes();
        for (JsonNode d : k8s.values()) {
            if (!d.get("kind").asText().equals("Deployment")) {
                continue;
            }
            boolean exclusive = d.at("/spec/template/spec/containers/0/resources/limits").has("nvidia.com/gpu");
            for (JsonNode v : d.at("/spec/template/spec/volumes")) {
                JsonNode claim = k8s.get("PersistentVolumeClaim/" + v.at("/persistentVolumeClaim/claimName").asText());
                if (claim != null && claim.at("/spec/accessModes").toString().contains("ReadWriteOnce")) {
                    exclusive = true;
                }
            }
            if (exclusive) {
                assertThat(d.at("/spec/strategy/type").asText()).as("strategy of %s", d.at("/metadata/name"))
                        .isEqualTo("Recreate");
            }
        }
        JsonNode job = k8s.get("Job/trainer");
        assertThat(k8s).doesNotContainKey("StatefulSet/trainer");
        assertThat(job.at("/spec/completionMode").asText()).isEqualTo("Indexed");
        assertThat(job.at("/spec/completions").asInt()).isEqualTo(job.at("/spec/parallelism").asInt());
        assertThat(job.at("/spec/template/spec/restartPolicy").asText()).isIn("OnFailure", "Never");
    }

    @Test
    void shouldRunEveryPodAsTheImagesNonRootUserWithoutPrivilegesAndWithHeadroomOffHeap() throws Exception {
        Map<String, JsonNode> k8s = kubernetes();
        for (String name : WORKLOADS) {
            JsonNode pod = k8s.get(name).at("/spec/template/spec");
            JsonNode container = pod.at("/containers/0");

            assertThat(pod.at("/securityContext/runAsNonRoot").asBoolean()).as("runAsNonRoot of %s", name).isTrue();
            assertThat(pod.at("/securityContext/runAsUser").asInt()).as("runAsUser of %s", name).isEqualTo(10001);
            assertThat(container.at("/securityContext/allowPrivilegeEscalation").isBoolean()
                    && !container.at("/securityContext/allowPrivilegeEscalation").asBoolean()).as("%s", name).isTrue();
            assertThat(container.at("/securityContext/capabilities/drop").toString()).contains("ALL");
            String javaOptions = null;
            for (JsonNode e : container.path("env")) {
                if (e.get("name").asText().equals("JAVA_TOOL_OPTIONS")) {
                    javaOptions = e.get("value").asText();
                }
            }
            assertThat(maxRamPercentage(javaOptions == null ? env(BASE, "JAVA_TOOL_OPTIONS") : javaOptions))
                    .as("heap share of %s", name).isLessThanOrEqualTo(50);
            if (container.at("/securityContext/readOnlyRootFilesystem").asBoolean()) {
                assertThat(container.get("volumeMounts").toString()).as("writable /tmp of %s", name)
                        .contains("\"/tmp\"");
            }
        }
    }

    @Test
    void shouldReadKafkaCredentialsFromTheExampleSecretAsDocumentedSettings() throws Exception {
        JsonNode secret = documents(DEPLOY.resolve("k8s/kafka-credentials.example.yaml")).get(0);
        Map<String, JsonNode> k8s = kubernetes();
        Map<String, String> env = new HashMap<>();
        secret.get("stringData").properties().forEach(e -> env.put(e.getKey(), e.getValue().asText()));
        Map<String, String> settings = io.kdstream.core.config.KdConfigLoader.fromEnvironment(env);
        Set<String> known = new HashSet<>(org.apache.kafka.clients.admin.AdminClientConfig.configNames());
        ConfigDocs.sections().forEach(s -> known.addAll(s.def().names()));

        assertThat(secret.get("kind").asText()).isEqualTo("Secret");
        assertThat(settings).containsEntry("security.protocol", "SASL_SSL").containsKey("sasl.jaas.config");
        assertThat(known).as("settings of the example Secret").containsAll(settings.keySet());
        for (String name : WORKLOADS) {
            JsonNode refs = k8s.get(name).at("/spec/template/spec/containers/0/envFrom");
            assertThat(refs.toString()).as("envFrom of %s", name)
                    .contains("\"name\":\"" + secret.at("/metadata/name").asText() + "\"").contains("\"optional\":true");
        }
        assertThat(k8s).as("an example, not applied by kustomize").doesNotContainKey("Secret/kdstream-kafka-credentials");
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
