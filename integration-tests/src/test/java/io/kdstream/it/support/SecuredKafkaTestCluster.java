package io.kdstream.it.support;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.metadata.UserScramCredentialRecord;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.internals.ScramFormatter;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.metadata.authorizer.StandardAuthorizer;
import org.apache.kafka.metadata.bootstrap.BootstrapMetadata;
import org.apache.kafka.server.common.ApiMessageAndVersion;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A single-node in-process KRaft cluster whose client listener only speaks SASL/SCRAM-SHA-512, with the standard
 * authorizer and no access for anyone without an ACL. The super user {@link #ADMIN} exists from the first start (its
 * SCRAM credential is part of the bootstrap metadata, as {@code kafka-storage format --add-scram} writes it); other
 * principals are created with {@link #admin()}. The controller listener stays plaintext on its own port: only the
 * node itself talks to it. Close it to stop the node and delete its storage.
 */
public final class SecuredKafkaTestCluster implements AutoCloseable {

    public static final String MECHANISM = "SCRAM-SHA-512";
    public static final String ADMIN = "kd-admin";

    private final KafkaClusterTestKit cluster;
    private final String adminPassword;

    private SecuredKafkaTestCluster(KafkaClusterTestKit cluster, String adminPassword) {
        this.cluster = cluster;
        this.adminPassword = adminPassword;
    }

    /** Starts the cluster; {@code adminPassword} is the super user's SCRAM password. */
    public static SecuredKafkaTestCluster start(String adminPassword) {
        KafkaClusterTestKit cluster = null;
        try {
            TestKitNodes plain = new TestKitNodes.Builder().setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1).build();
            List<ApiMessageAndVersion> records = new ArrayList<>(plain.bootstrapMetadata().records());
            records.add(scramRecord(ADMIN, adminPassword));
            TestKitNodes nodes = new TestKitNodes.Builder(BootstrapMetadata.fromRecords(records, "secured test cluster"))
                    .setCombined(true)
                    .setNumBrokerNodes(1)
                    .setNumControllerNodes(1)
                    .build();
            String external = nodes.brokerListenerName().value();
            String controller = nodes.controllerListenerName().value();
            String prefix = "listener.name." + external.toLowerCase(Locale.ROOT) + ".";
            Map<String, String> config = new HashMap<>(KafkaTestCluster.defaults());
            config.put("listener.security.protocol.map", external + ":SASL_PLAINTEXT," + controller + ":PLAINTEXT");
            config.put("sasl.enabled.mechanisms", MECHANISM);
            config.put("sasl.mechanism.inter.broker.protocol", MECHANISM);
            config.put(prefix + "sasl.enabled.mechanisms", MECHANISM);
            config.put(prefix + MECHANISM.toLowerCase(Locale.ROOT) + ".sasl.jaas.config", jaas(ADMIN, adminPassword));
            config.put("authorizer.class.name", StandardAuthorizer.class.getName());
            // the node reaches its own controller over the plaintext controller listener, as ANONYMOUS
            config.put("super.users", "User:" + ADMIN + ";User:ANONYMOUS");
            config.put("allow.everyone.if.no.acl.found", "false");
            KafkaClusterTestKit.Builder builder = new KafkaClusterTestKit.Builder(nodes);
            config.forEach(builder::setConfigProp);
            cluster = builder.build();
            cluster.format();
            cluster.startup();
            cluster.waitForReadyBrokers();
            return new SecuredKafkaTestCluster(cluster, adminPassword);
        } catch (Exception e) {
            if (cluster != null) {
                try {
                    cluster.close();
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("cannot start the secured test Kafka cluster: " + e.getMessage(), e);
        }
    }

    private static ApiMessageAndVersion scramRecord(String user, String password) throws Exception {
        ScramMechanism mechanism = ScramMechanism.forMechanismName(MECHANISM);
        ScramCredential credential = new ScramFormatter(mechanism).generateCredential(password, 4096);
        UserScramCredentialRecord record = new UserScramCredentialRecord()
                .setName(user)
                .setMechanism(mechanism.type())
                .setSalt(credential.salt())
                .setStoredKey(credential.storedKey())
                .setServerKey(credential.serverKey())
                .setIterations(credential.iterations());
        return new ApiMessageAndVersion(record, (short) 0);
    }

    /** The JAAS line of a SCRAM client. */
    public static String jaas(String user, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user
                + "\" password=\"" + password + "\";";
    }

    public String bootstrapServers() {
        return cluster.bootstrapServers();
    }

    /**
     * The plaintext controller listener. Everyone connecting there is {@code User:ANONYMOUS}, a super user (the node
     * reaches its own controller that way), so it must stay unreachable from clients.
     */
    public String bootstrapControllers() {
        return cluster.bootstrapControllers();
    }

    /** Client properties of principal {@code user} with {@code password}. */
    public Map<String, Object> clientProperties(String user, String password) {
        Map<String, Object> p = new HashMap<>();
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        p.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT");
        p.put(SaslConfigs.SASL_MECHANISM, MECHANISM);
        p.put(SaslConfigs.SASL_JAAS_CONFIG, jaas(user, password));
        return p;
    }

    /** A new admin client of the super user; the caller closes it. */
    public Admin admin() {
        return Admin.create(clientProperties(ADMIN, adminPassword));
    }

    @Override
    public void close() {
        try {
            cluster.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while stopping the secured test Kafka cluster", e);
        } catch (Exception e) {
            throw new IllegalStateException("cannot stop the secured test Kafka cluster: " + e.getMessage(), e);
        }
    }
}
