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
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.apache.kafka.common.errors.UnsupportedSaslMechanismException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
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
 * refused, each with the exception a client really gets; what the teacher, ingest and trainer principals may not do
 * is refused; the plaintext controller listener makes anyone who reaches it a super user (shown, so that the
 * deployment advice is backed by a test); and no secret of the configuration reaches the logs, the run manifest or
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
            acls.add(allow(TEACHER, ResourceType.TOPIC, P + ".teacher-features", PatternType.LITERAL, AclOperation.WRITE));
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

        Map<String, Object> plainMechanism = kafka.clientProperties(TRAINER, TRAINER_PASSWORD);
        plainMechanism.put(SaslConfigs.SASL_MECHANISM, "PLAIN");
        plainMechanism.put(SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.plain.PlainLoginModule required "
                + "username=\"" + TRAINER + "\" password=\"" + TRAINER_PASSWORD + "\";");

        // Then the SCRAM handshake fails for the first two; the broker does not offer PLAIN; and a client without SASL
        // is never answered (the listener drops its requests before authentication), so it times out: it is not told
        // it failed to authenticate, it just never gets a node
        assertThatThrownBy(() -> describe(wrongPassword)).hasCauseInstanceOf(SaslAuthenticationException.class);
        assertThatThrownBy(() -> describe(unknownUser)).hasCauseInstanceOf(SaslAuthenticationException.class);
        assertThatThrownBy(() -> describe(plainMechanism)).hasCauseInstanceOf(UnsupportedSaslMechanismException.class);
        Throwable plaintext = catchThrowable(() -> describe(noCredentials));
        assertThat(plaintext).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(org.apache.kafka.common.errors.TimeoutException.class);
        System.out.println("SecuredClusterIT: wrong password and unknown user refused (SaslAuthenticationException), PLAIN "
                + "refused (UnsupportedSaslMechanismException), a client without SASL never answered ("
                + plaintext.getCause().getClass().getSimpleName() + ": " + plaintext.getCause().getMessage() + ")");
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
    void shouldRefuseTheTeacherEverythingButReadingInputsAndWritingItsOutputs() throws Exception {
        // Given clients authenticated as the teacher
        Map<String, Object> teacher = kafka.clientProperties(TEACHER, TEACHER_PASSWORD);

        // Then it cannot write inputs or the trainer's topics, read its own outputs (they are the trainer's to read),
        // use a transactional id outside its prefix, join the trainer's group or create a topic
        assertWriteRefused(teacher, P + ".inputs");
        assertWriteRefused(teacher, P + ".runs");
        assertWriteRefused(teacher, P + ".model-sync");
        assertReadRefused(teacher, P + ".teacher-outputs");
        assertThat(initTransactions(teacher, "not-" + P + "-teacher-0")).isInstanceOf(TransactionalIdAuthorizationException.class);
        assertThat(joinGroup(teacher, P + "-trainer", P + ".inputs")).isInstanceOf(GroupAuthorizationException.class);
        assertThat(createTopic(teacher, P + ".teacher-made")).hasCauseInstanceOf(TopicAuthorizationException.class);
        // ... while what it needs works: a transaction under its own prefix, and reading inputs in its own group
        assertThat(initTransactions(teacher, P + "-teacher-probe")).isNull();
        assertThat(joinGroup(teacher, P + "-teacher", P + ".inputs")).isNull();
        System.out.println("SecuredClusterIT: teacher principal refused writes to inputs, runs and model-sync, reads of "
                + "teacher-outputs, a foreign transactional id, the trainer's group and topic creation");
    }

    @Test
    void shouldRefuseTheIngestEverythingButWritingInputs() throws Exception {
        // Given clients authenticated as the ingest principal
        Map<String, Object> ingest = kafka.clientProperties(INGEST, INGEST_PASSWORD);

        // Then it cannot read the inputs back, forge teacher outputs, create or delete topics, read ACLs or grant itself
        // credentials (that it can write inputs is shown by the pipeline test)
        assertReadRefused(ingest, P + ".inputs");
        assertWriteRefused(ingest, P + ".teacher-outputs");
        assertWriteRefused(ingest, P + ".dlq");
        assertThat(createTopic(ingest, P + ".ingest-made")).hasCauseInstanceOf(TopicAuthorizationException.class);
        try (Admin admin = Admin.create(withTimeouts(ingest))) {
            assertThat(catchThrowable(() -> admin.deleteTopics(List.of(P + ".inputs")).all().get(30, TimeUnit.SECONDS)))
                    .hasCauseInstanceOf(TopicAuthorizationException.class);
            assertThat(catchThrowable(() -> admin.describeAcls(AclBindingFilter.ANY).values().get(30, TimeUnit.SECONDS)))
                    .hasCauseInstanceOf(ClusterAuthorizationException.class);
            assertThat(catchThrowable(() -> admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(
                    "mallory", new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), "x"))).all().get(30, TimeUnit.SECONDS)))
                    .hasCauseInstanceOf(ClusterAuthorizationException.class);
        }
        System.out.println("SecuredClusterIT: ingest principal refused reads of inputs, writes to teacher-outputs and dlq, "
                + "topic creation and deletion, ACL listing and credential changes");
    }

    @Test
    void shouldRefuseTheTrainerReadingInputsForgingTeacherOutputsOrAdministering() throws Exception {
        // Given clients authenticated as the trainer
        Map<String, Object> trainer = kafka.clientProperties(TRAINER, TRAINER_PASSWORD);

        // Then it cannot read inputs (no EMA-teacher ACL here), write teacher outputs, join the teacher's group, use a
        // transactional id, delete its own topics or grant ACLs
        assertReadRefused(trainer, P + ".inputs");
        assertWriteRefused(trainer, P + ".teacher-outputs");
        assertThat(joinGroup(trainer, P + "-teacher", P + ".teacher-outputs")).isInstanceOf(GroupAuthorizationException.class);
        assertThat(initTransactions(trainer, P + "-teacher-0")).isInstanceOf(TransactionalIdAuthorizationException.class);
        try (Admin admin = Admin.create(withTimeouts(trainer))) {
            assertThat(catchThrowable(() -> admin.deleteTopics(List.of(P + ".metrics")).all().get(30, TimeUnit.SECONDS)))
                    .hasCauseInstanceOf(TopicAuthorizationException.class);
            assertThat(catchThrowable(() -> admin.createAcls(List.of(allow(TRAINER, ResourceType.TOPIC, P + ".inputs",
                    PatternType.LITERAL, AclOperation.READ))).all().get(30, TimeUnit.SECONDS)))
                    .hasCauseInstanceOf(ClusterAuthorizationException.class);
        }
        System.out.println("SecuredClusterIT: trainer principal refused reads of inputs, writes to teacher-outputs, the "
                + "teacher's group and transactional ids, topic deletion and ACL creation");
    }

    @Test
    void shouldMakeAnyoneReachingTheControllerListenerASuperUser() throws Exception {
        // Given the controller listener: plaintext, so every client on it is User:ANONYMOUS, which is a super user
        // (the node needs that to reach its own controller); and an unauthenticated admin client there
        String aclTopic = P + ".controller-granted";
        AclBinding grant = allow("mallory", ResourceType.TOPIC, aclTopic, PatternType.LITERAL, AclOperation.READ);
        Map<String, Object> anonymous = new HashMap<>();
        anonymous.put(AdminClientConfig.BOOTSTRAP_CONTROLLERS_CONFIG, kafka.bootstrapControllers());
        try (Admin controller = Admin.create(withTimeouts(anonymous)); Admin admin = kafka.admin()) {
            // When it grants an ACL to a principal of its choice
            controller.createAcls(List.of(grant)).all().get(30, TimeUnit.SECONDS);

            // Then the broker enforces it: whoever reaches that port administers the cluster. Keep the controller
            // listener unreachable from clients, or authenticate it and name its principal in super.users
            AclBindingFilter granted = new AclBindingFilter(grant.pattern().toFilter(), AccessControlEntryFilter.ANY);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (admin.describeAcls(granted).values().get(30, TimeUnit.SECONDS).isEmpty()) {
                assertThat(System.nanoTime()).as("the ACL granted on the controller listener reaches the broker").isLessThan(deadline);
                Thread.sleep(100);
            }
            assertThat(admin.describeAcls(granted).values().get(30, TimeUnit.SECONDS)).containsExactly(grant);
            assertThat(controller.deleteAcls(List.of(grant.toFilter())).all().get(30, TimeUnit.SECONDS)).containsExactly(grant);
        }
        // ... while the same unauthenticated client on the broker listener gets nothing
        Map<String, Object> onBroker = new HashMap<>(Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
        assertThatThrownBy(() -> describe(onBroker)).hasCauseInstanceOf(org.apache.kafka.common.errors.TimeoutException.class);
        System.out.println("SecuredClusterIT: an unauthenticated admin on the controller listener (" + kafka.bootstrapControllers()
                + ") granted and deleted an ACL as ANONYMOUS, a super user");
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

    private static Map<String, Object> withTimeouts(Map<String, Object> props) {
        Map<String, Object> p = new HashMap<>(props);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        return p;
    }

    /** The failure of one send to {@code topic}, or null if it was acknowledged. */
    private static Throwable send(Map<String, Object> client, String topic) {
        Map<String, Object> p = new HashMap<>(client);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 20_000);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(topic, new byte[] {1}, new byte[] {2})).get(60, TimeUnit.SECONDS);
            return null;
        } catch (Exception e) {
            return e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        }
    }

    private static void assertWriteRefused(Map<String, Object> client, String topic) {
        assertThat(send(client, topic)).as("a write to " + topic).isInstanceOf(TopicAuthorizationException.class);
    }

    /** Reading {@code topic} without a group: the first fetch or offset lookup is refused. */
    private static void assertReadRefused(Map<String, Object> client, String topic) {
        Map<String, Object> p = new HashMap<>(client);
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000);
        Throwable refused = null;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(List.of(new TopicPartition(topic, 0)));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (refused == null && System.nanoTime() < deadline) {
                try {
                    consumer.poll(Duration.ofMillis(500));
                } catch (RuntimeException e) {
                    refused = e;
                }
            }
        }
        assertThat(refused).as("a read of " + topic).isInstanceOf(TopicAuthorizationException.class);
    }

    /** The failure of joining {@code group} subscribed to {@code topic}, or null if a partition was assigned. */
    private static Throwable joinGroup(Map<String, Object> client, String group, String topic) {
        Map<String, Object> p = new HashMap<>(client);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() < deadline) {
                try {
                    consumer.poll(Duration.ofMillis(500));
                    if (!consumer.assignment().isEmpty()) {
                        return null;
                    }
                } catch (RuntimeException e) {
                    return e;
                }
            }
            return new AssertionError("neither joined " + group + " nor refused within 30 s");
        }
    }

    /** The failure of {@code initTransactions} with {@code transactionalId}, or null if it succeeded. */
    private static Throwable initTransactions(Map<String, Object> client, String transactionalId) {
        Map<String, Object> p = new HashMap<>(client);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.initTransactions();
            return null;
        } catch (RuntimeException e) {
            return e;
        }
    }

    private static Throwable createTopic(Map<String, Object> client, String topic) {
        try (Admin admin = Admin.create(withTimeouts(client))) {
            return catchThrowable(() -> admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS));
        }
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
