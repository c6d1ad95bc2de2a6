package io.kdstream.it;

import io.kdstream.avro.InputRecord;
import io.kdstream.avro.RunManifest;
import io.kdstream.avro.RunStatus;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.it.support.ConfirmedSends;
import io.kdstream.it.support.SecuredKafkaTestCluster;
import io.kdstream.it.support.TopicProps;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.schemas.registry.SchemaRegistryClientConfig;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.serve.TeacherConfig;
import io.kdstream.teacher.serve.TeacherService;
import io.kdstream.trainer.RunManifests;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * The pipeline on a broker that only speaks SASL/SCRAM-SHA-512 and authorises every request with ACLs: the teacher and
 * the trainer each work with their own principal and nothing more; unauthenticated clients and wrong passwords are
 * refused; a trainer cannot write inputs; and no secret of the configuration reaches the logs, the run manifest or
 * the checkpoint.
 */
class SecuredClusterIT {

    private static final String ADMIN_PASSWORD = "admin-pw-" + UUID.randomUUID();
    private static final String TEACHER = "kd-teacher";
    private static final String TEACHER_PASSWORD = "teacher-pw-" + UUID.randomUUID();
    private static final String TRAINER = "kd-trainer";
    private static final String TRAINER_PASSWORD = "trainer-pw-" + UUID.randomUUID();
    private static final String INGEST = "kd-ingest";
    private static final String INGEST_PASSWORD = "ingest-pw-" + UUID.randomUUID();
    private static final String P = "sec";
    private static final String REGISTRY = "mock://secured-" + UUID.randomUUID();
    private static final int INPUTS = 200;

    private static SecuredKafkaTestCluster kafka;

    @BeforeAll
    static void start() throws Exception {
        kafka = SecuredKafkaTestCluster.start(ADMIN_PASSWORD);
        try (Admin admin = kafka.admin()) {
            admin.alterUserScramCredentials(List.of(
                    new UserScramCredentialUpsertion(TEACHER, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), TEACHER_PASSWORD),
                    new UserScramCredentialUpsertion(TRAINER, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), TRAINER_PASSWORD),
                    new UserScramCredentialUpsertion(INGEST, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), INGEST_PASSWORD)))
                    .all().get(30, TimeUnit.SECONDS);
            List<AclBinding> acls = new ArrayList<>();
            // ingest: write inputs, nothing else
            acls.add(allow(INGEST, ResourceType.TOPIC, P + ".inputs", PatternType.LITERAL, AclOperation.WRITE));
            // teacher: read inputs in its group, write outputs and dead letters in transactions of its own ids
            acls.add(allow(TEACHER, ResourceType.TOPIC, P + ".inputs", PatternType.LITERAL, AclOperation.READ));
            acls.add(allow(TEACHER, ResourceType.GROUP, P + "-teacher", PatternType.LITERAL, AclOperation.READ));
            acls.add(allow(TEACHER, ResourceType.TOPIC, P + ".teacher-outputs", PatternType.LITERAL, AclOperation.WRITE));
            acls.add(allow(TEACHER, ResourceType.TOPIC, P + ".dlq", PatternType.LITERAL, AclOperation.WRITE));
            acls.add(allow(TEACHER, ResourceType.TRANSACTIONAL_ID, P + "-teacher", PatternType.PREFIXED, AclOperation.WRITE));
            acls.add(allow(TEACHER, ResourceType.TRANSACTIONAL_ID, P + "-teacher", PatternType.PREFIXED, AclOperation.DESCRIBE));
            // trainer: read teacher outputs in its group, write its own records; nothing on the inputs
            acls.add(allow(TRAINER, ResourceType.TOPIC, P + ".teacher-outputs", PatternType.LITERAL, AclOperation.READ));
            acls.add(allow(TRAINER, ResourceType.GROUP, P + "-trainer", PatternType.LITERAL, AclOperation.READ));
            for (String topic : List.of("metrics", "eval", "runs", "dlq", "model-sync")) {
                acls.add(allow(TRAINER, ResourceType.TOPIC, P + "." + topic, PatternType.LITERAL, AclOperation.WRITE));
            }
            admin.createAcls(acls).all().get(30, TimeUnit.SECONDS);
        }
        KdConfig adminConfig = new KdConfig(props(SecuredKafkaTestCluster.ADMIN, ADMIN_PASSWORD, null));
        try (TopicAdmin topics = new TopicAdmin(KafkaClients.admin(adminConfig), Duration.ofSeconds(30), true)) {
            topics.ensureTopics(TopicAdmin.catalog(adminConfig));
        }
        awaitAuthentication(TEACHER, TEACHER_PASSWORD);
        awaitAuthentication(TRAINER, TRAINER_PASSWORD);
        awaitAuthentication(INGEST, INGEST_PASSWORD);
    }

    @AfterAll
    static void stop() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void shouldRunTeacherAndTrainerWithTheirOwnCredentialsWithoutLeakingSecrets(@TempDir Path dir) throws Exception {
        // Given inputs written by the ingest principal, and component configs that also carry registry and TLS secrets
        String basicAuthSecret = "basic-auth-pw-" + UUID.randomUUID();
        String sslSecret = "ssl-pw-" + UUID.randomUUID();
        produceInputs();
        Map<String, Object> teacherProps = props(TEACHER, TEACHER_PASSWORD, null);
        teacherProps.put(TeacherConfig.GROUP_ID_CONFIG, P + "-teacher");
        teacherProps.put(TeacherConfig.TRANSACTIONAL_ID_PREFIX_CONFIG, P + "-teacher");
        teacherProps.put(TeacherConfig.DEVICE_CONFIG, "cpu");
        teacherProps.put(TeacherConfig.METRICS_INTERVAL_MS_CONFIG, 0);
        Map<String, Object> trainerProps = props(TRAINER, TRAINER_PASSWORD, dir);
        trainerProps.put(SchemaRegistryClientConfig.BASIC_AUTH_USER_INFO_CONFIG, "registry-user:" + basicAuthSecret);
        trainerProps.put("ssl.truststore.password", sslSecret);
        trainerProps.put("ssl.keystore.password", sslSecret);
        trainerProps.put("ssl.key.password", sslSecret);
        List<String> secrets = List.of(ADMIN_PASSWORD, TEACHER_PASSWORD, TRAINER_PASSWORD, INGEST_PASSWORD, basicAuthSecret, sslSecret);

        // When the teacher scores them and the trainer trains on its outputs, each as its own principal
        ByteArrayOutputStream logs = new ByteArrayOutputStream();
        PrintStream err = System.err;
        PrintStream out = System.out;
        Trainer.Result result;
        long teacherOutputs;
        System.setErr(new PrintStream(new Tee(err, logs), true, StandardCharsets.UTF_8));
        System.setOut(new PrintStream(new Tee(out, logs), true, StandardCharsets.UTF_8));
        try {
            try (Teacher teacher = FuzzedInputIT.randomTeacher(dir.resolve("teacher"));
                 TeacherService service = TeacherService.builder().setConfig(new TeacherConfig(teacherProps)).setTeacher(teacher).build()) {
                service.start();
                long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
                while (service.metrics().snapshot().inputs() < INPUTS) {
                    assertThat(service.isRunning()).as("teacher workers alive").isTrue();
                    assertThat(System.nanoTime()).as("teacher scored every input in time").isLessThan(deadline);
                    Thread.sleep(50);
                }
                teacherOutputs = service.metrics().snapshot().outputs();
            }
            try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(trainerProps)).build()) {
                result = trainer.run();
            }
        } finally {
            System.setErr(err);
            System.setOut(out);
        }

        // Then every input was scored and trained on
        assertThat(teacherOutputs).isEqualTo(INPUTS);
        assertThat(result.completed()).isTrue();
        assertThat(result.samples()).isEqualTo(INPUTS);
        assertThat(result.deadLetters()).isZero();

        // ... and no secret is in the logs, the manifest (file and topic) or any file of the run
        String logText = logs.toString(StandardCharsets.UTF_8);
        assertThat(logText).contains("Starting run " + result.runId());
        RunManifest manifest = RunManifests.read(result.modelDir().resolve(RunManifests.FILE));
        assertThat(manifest.getConfig()).containsEntry("sasl.jaas.config", "[hidden]")
                .containsEntry(SchemaRegistryClientConfig.BASIC_AUTH_USER_INFO_CONFIG, "[hidden]")
                .containsEntry("ssl.truststore.password", "[hidden]")
                .containsEntry("ssl.keystore.password", "[hidden]")
                .containsEntry("ssl.key.password", "[hidden]");
        KdConfig trainerConfig = new KdConfig(trainerProps);
        List<ConsumerRecord<byte[], byte[]>> runs = readAll(trainerConfig.topics().runs());
        assertThat(runs).hasSize(2);
        List<String> places = new ArrayList<>();
        places.add(logText);
        places.add(manifest.toString());
        runs.forEach(r -> places.add(new String(r.value(), StandardCharsets.ISO_8859_1)));
        try (Stream<Path> files = Files.walk(dir.resolve("run"))) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                places.add(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1));
            }
        }
        for (String secret : secrets) {
            assertThat(places).as("places holding " + secret.substring(0, secret.indexOf('-')) + " secret")
                    .noneMatch(s -> s.contains(secret));
        }
        var manifests = KdAvroSerdes.value(RunManifest.class, trainerConfig.serdeProperties()).deserializer();
        assertThat(runs).extracting(r -> manifests.deserialize(trainerConfig.topics().runs(), r.value()).getStatus())
                .containsExactly(RunStatus.STARTED, RunStatus.FINISHED);
        System.out.printf("SecuredClusterIT: ingest %s wrote %d inputs, teacher %s scored %d inputs, trainer %s trained %d "
                + "samples; %d secrets absent from %d log characters, the manifest, %d run records and the run's files%n",
                INGEST, INPUTS, TEACHER, teacherOutputs, TRAINER, result.samples(), secrets.size(), logText.length(), runs.size());
    }

    @Test
    void shouldRefuseClientsWithoutCredentialsOrWithWrongOnes() {
        // Given clients with a wrong password, an unknown user and no SASL at all
        Map<String, Object> wrongPassword = kafka.clientProperties(TRAINER, TRAINER_PASSWORD + "-wrong");
        Map<String, Object> unknownUser = kafka.clientProperties("mallory", TRAINER_PASSWORD);
        Map<String, Object> noCredentials = new HashMap<>(Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));

        // Then the SCRAM handshake fails for the first two, and the third never gets an answer
        assertThatThrownBy(() -> describe(wrongPassword)).hasCauseInstanceOf(SaslAuthenticationException.class);
        assertThatThrownBy(() -> describe(unknownUser)).hasCauseInstanceOf(SaslAuthenticationException.class);
        assertThatThrownBy(() -> describe(noCredentials)).isInstanceOf(ExecutionException.class);
        System.out.println("SecuredClusterIT: wrong password, unknown user and plaintext clients refused");
    }

    @Test
    void shouldRefuseATrainerWritingToTheInputs() throws Exception {
        // Given a producer authenticated as the trainer
        KdConfig config = new KdConfig(props(TRAINER, TRAINER_PASSWORD, null));
        try (Producer<byte[], byte[]> producer = KafkaClients.producer(config, "trainer-as-ingest", Map.of("max.block.ms", 20_000))) {
            // When it writes to the inputs topic, Then the broker refuses the topic
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>(P + ".inputs", new byte[] {1}, new byte[] {2}))
                    .get(30, TimeUnit.SECONDS))
                    .satisfiesAnyOf(
                            e -> assertThat(e).isInstanceOf(TopicAuthorizationException.class),
                            e -> assertThat(e).hasCauseInstanceOf(TopicAuthorizationException.class));
            // ... while its own topics are writable
            assertThat(producer.send(new ProducerRecord<>(P + ".metrics", new byte[] {1}, new byte[] {2}))
                    .get(30, TimeUnit.SECONDS).offset()).isNotNegative();
        }
        System.out.println("SecuredClusterIT: trainer principal refused on " + P + ".inputs (TopicAuthorizationException)");
    }

    @Test
    void shouldStopTheTeacherAndTheTrainerWhenTheirCredentialsAreWrong(@TempDir Path dir) throws Exception {
        // Given a teacher-service and a trainer whose configurations carry a wrong password
        Map<String, Object> teacherProps = props(TEACHER, TEACHER_PASSWORD + "-wrong", null);
        teacherProps.put(TeacherConfig.GROUP_ID_CONFIG, P + "-teacher");
        teacherProps.put(TeacherConfig.TRANSACTIONAL_ID_PREFIX_CONFIG, P + "-teacher-refused");
        teacherProps.put(TeacherConfig.DEVICE_CONFIG, "cpu");
        teacherProps.put(TeacherConfig.METRICS_INTERVAL_MS_CONFIG, 0);
        Map<String, Object> trainerProps = props(TRAINER, TRAINER_PASSWORD + "-wrong", dir);

        // When they start, Then each stops with the broker's authentication error instead of retrying or training
        Throwable teacherFailure;
        try (Teacher teacher = FuzzedInputIT.randomTeacher(dir.resolve("teacher"));
             TeacherService service = TeacherService.builder().setConfig(new TeacherConfig(teacherProps)).setTeacher(teacher).build()) {
            service.start();
            CompletableFuture<Void> stopped = CompletableFuture.runAsync(() -> {
                try {
                    service.awaitTermination();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            teacherFailure = catchThrowable(() -> stopped.get(60, TimeUnit.SECONDS));
        }
        assertThat(teacherFailure).as("the teacher-service stopped on its own within 60 s").isInstanceOf(ExecutionException.class);
        assertThat(causes(teacherFailure)).as("causes of the teacher-service's stop")
                .anyMatch(c -> c instanceof AuthenticationException);
        Throwable trainerFailure;
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(trainerProps)).build()) {
            trainerFailure = catchThrowable(trainer::run);
        }
        assertThat(causes(trainerFailure)).as("causes of the trainer's stop").anyMatch(c -> c instanceof AuthenticationException);
        assertThat(dir.resolve("run").resolve(Trainer.MODEL_DIR)).doesNotExist();
        System.out.printf("SecuredClusterIT: with a wrong password the teacher-service stopped (%s) and the trainer stopped "
                + "(%s) without training%n", rootOf(teacherFailure).getClass().getSimpleName(),
                rootOf(trainerFailure).getClass().getSimpleName());
    }

    private static List<Throwable> causes(Throwable t) {
        List<Throwable> out = new ArrayList<>();
        for (Throwable c = t; c != null && !out.contains(c); c = c.getCause()) {
            out.add(c);
        }
        return out;
    }

    private static Throwable rootOf(Throwable t) {
        List<Throwable> chain = causes(t);
        return chain.get(chain.size() - 1);
    }

    private static void describe(Map<String, Object> props) throws Exception {
        Map<String, Object> p = new HashMap<>(props);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 8_000);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 4_000);
        try (Admin admin = Admin.create(p)) {
            admin.describeCluster().clusterId().get(20, TimeUnit.SECONDS);
        }
    }

    private static void awaitAuthentication(String user, String password) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            try {
                describe(kafka.clientProperties(user, password));
                return;
            } catch (Exception e) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(user + " could not authenticate within 60 s", e);
                }
                Thread.sleep(200);
            }
        }
    }

    private static AclBinding allow(String user, ResourceType type, String name, PatternType pattern, AclOperation op) {
        return new AclBinding(new ResourcePattern(type, name, pattern),
                new AccessControlEntry("User:" + user, "*", op, AclPermissionType.ALLOW));
    }

    private static Map<String, Object> props(String user, String password, Path dir) {
        Map<String, Object> p = new HashMap<>(kafka.clientProperties(user, password));
        p.put("schema.registry.url", REGISTRY);
        TopicProps.prefixed(p, P);
        p.put(KdConfig.TOPICS_PARTITIONS_CONFIG, "2");
        if (dir != null) {
            p.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, dir.resolve("run").toString());
            p.put(TrainerConfig.GROUP_CONFIG, P + "-trainer");
            p.put(TrainerConfig.EPOCHS_CONFIG, "1");
            p.put(TrainerConfig.BATCH_SIZE_CONFIG, "32");
            p.put(TrainerConfig.CHECKPOINT_INTERVAL_CONFIG, "2");
            p.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "0");
        }
        return p;
    }

    private static void produceInputs() throws InterruptedException {
        KdConfig config = new KdConfig(props(INGEST, INGEST_PASSWORD, null));
        Serializer<InputRecord> serializer = KdAvroSerdes.value(InputRecord.class, config.serdeProperties()).serializer();
        String topic = config.topics().inputs();
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        java.util.Random rng = new java.util.Random(5);
        for (int i = 0; i < INPUTS; i++) {
            String id = "sec-" + i;
            byte[] px = new byte[784];
            rng.nextBytes(px);
            InputRecord r = InputRecord.newBuilder().setId(id).setSource("secured").setInput(TensorCodec.fromUint8(px, 1, 28, 28))
                    .setLabel(i % 10).setTimestampMs(Instant.EPOCH).setAttributes(Map.of()).build();
            records.add(new ProducerRecord<>(topic, id.getBytes(StandardCharsets.UTF_8), serializer.serialize(topic, r)));
        }
        ConfirmedSends.sendAll(config, "ingest", records);
    }

    /** Every committed record of a topic, read as the administrator. */
    private static List<ConsumerRecord<byte[], byte[]>> readAll(String topic) {
        KdConfig config = new KdConfig(props(SecuredKafkaTestCluster.ADMIN, ADMIN_PASSWORD, null));
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
            List<TopicPartition> parts = consumer.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (parts.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                assertThat(System.nanoTime()).as("read " + topic + " within 60 s").isLessThan(deadline);
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    /** Writes to two streams. */
    private static final class Tee extends OutputStream {
        private final OutputStream a;
        private final OutputStream b;

        Tee(OutputStream a, OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int c) throws IOException {
            a.write(c);
            synchronized (b) {
                b.write(c);
            }
        }

        @Override
        public void write(byte[] buf, int off, int len) throws IOException {
            a.write(buf, off, len);
            synchronized (b) {
                b.write(buf, off, len);
            }
        }

        @Override
        public void flush() throws IOException {
            a.flush();
        }
    }
}
