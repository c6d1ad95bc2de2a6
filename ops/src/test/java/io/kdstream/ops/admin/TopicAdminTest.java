package io.kdstream.ops.admin;

import io.kdstream.core.config.KdConfig;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TopicAdminTest {

    private static final long SEVEN_DAYS_MS = 604_800_000L;

    private static TopicSpec spec(List<TopicSpec> specs, String name) {
        return specs.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void shouldCoverEveryTopicOfTheCatalogWithConfiguredPartitionsAndReplication() {
        KdConfig config = KdConfig.fromProperties(Map.of("kd.topics.partitions", "6", "kd.topics.replication.factor", "3"));

        List<TopicSpec> specs = TopicAdmin.catalog(config);

        assertThat(specs).extracting(TopicSpec::name).containsExactly("kd.inputs", "kd.teacher-outputs", "kd.teacher-features", "kd.dlq",
                "kd.metrics", "kd.eval", "kd.runs", "kd.model-sync", "kd.monitors", "kd.alerts");
        assertThat(specs).allSatisfy(s -> {
            assertThat(s.partitions()).isEqualTo(6);
            assertThat(s.replicationFactor()).isEqualTo((short) 3);
        });
    }

    @Test
    void shouldSetTheConfiguredMinInsyncReplicasOnEveryTopicAndLeaveTheBrokersOtherwise() {
        KdConfig replicated = KdConfig.fromProperties(Map.of("kd.topics.replication.factor", "3", "kd.topics.min.insync.replicas", "2"));
        KdConfig plain = KdConfig.fromProperties(Map.of("kd.topics.replication.factor", "3"));

        assertThat(TopicAdmin.catalog(replicated)).allSatisfy(s -> assertThat(s.configs()).containsEntry("min.insync.replicas", "2"));
        assertThat(spec(TopicAdmin.catalog(replicated), "kd.runs").configs()).containsEntry("cleanup.policy", "compact");
        assertThat(TopicAdmin.catalog(plain)).allSatisfy(s -> assertThat(s.configs()).doesNotContainKey("min.insync.replicas"));
    }

    @Test
    void shouldKeepTeacherOutputsAndTheirFeaturesForeverByDefaultAndOthersForTheConfiguredRetention() {
        List<TopicSpec> specs = TopicAdmin.catalog(KdConfig.fromProperties(Map.of()));

        assertThat(spec(specs, "kd.teacher-outputs").configs()).containsExactly(Map.entry("retention.ms", "-1"));
        assertThat(spec(specs, "kd.teacher-features").configs()).containsExactly(Map.entry("retention.ms", "-1"));
        assertThat(spec(specs, "kd.inputs").configs()).containsExactly(Map.entry("retention.ms", Long.toString(SEVEN_DAYS_MS)));
        assertThat(spec(specs, "kd.dlq").configs()).containsEntry("retention.ms", Long.toString(SEVEN_DAYS_MS));
    }

    @Test
    void shouldCompactRunManifestsAndNeverExpireThem() {
        List<TopicSpec> specs = TopicAdmin.catalog(KdConfig.fromProperties(Map.of("kd.topics.retention.ms", "3600000")));

        assertThat(spec(specs, "kd.runs").configs())
                .containsEntry("cleanup.policy", "compact")
                .containsEntry("retention.ms", "-1");
        assertThat(spec(specs, "kd.metrics").configs()).containsEntry("retention.ms", "3600000");
    }

    @Test
    void shouldUseConfiguredTopicNamesAndRetentions() {
        KdConfig config = KdConfig.fromProperties(Map.of(
                "kd.topic.inputs", "team-a.inputs",
                "kd.topic.teacher.outputs", "team-a.teacher",
                "kd.topic.teacher.outputs.retention.ms", "86400000"));

        List<TopicSpec> specs = TopicAdmin.catalog(config);

        assertThat(specs).extracting(TopicSpec::name).contains("team-a.inputs", "team-a.teacher").doesNotContain("kd.inputs");
        assertThat(spec(specs, "team-a.teacher").configs()).containsEntry("retention.ms", "86400000");
    }

    @Test
    void shouldCreateOneSpecWhenTwoCatalogEntriesShareATopic() {
        KdConfig config = KdConfig.fromProperties(Map.of("kd.topic.eval", "kd.metrics"));

        List<TopicSpec> specs = TopicAdmin.catalog(config);

        assertThat(specs).extracting(TopicSpec::name).containsOnlyOnce("kd.metrics").doesNotContain("kd.eval");
    }

    @Test
    void shouldRejectInvalidSpecs() {
        assertThatThrownBy(() -> new TopicSpec("bad name", 1, (short) 1, Map.of())).hasMessageContaining("bad name");
        assertThatThrownBy(() -> new TopicSpec("t", 0, (short) 1, Map.of())).hasMessageContaining("partitions");
        assertThatThrownBy(() -> new TopicSpec("t", 1, (short) 0, Map.of())).hasMessageContaining("replication");
    }

    @Test
    void shouldTranslateASpecIntoANewTopic() {
        TopicSpec spec = new TopicSpec("t", 3, (short) 1, Map.of("retention.ms", "-1"));

        assertThat(spec.toNewTopic().numPartitions()).isEqualTo(3);
        assertThat(spec.toNewTopic().replicationFactor()).isEqualTo((short) 1);
        assertThat(spec.toNewTopic().configs()).containsExactly(Map.entry("retention.ms", "-1"));
    }
}
