package io.kdstream.teacher.serve;

import io.kdstream.avro.DType;

import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TeacherConfigTest {

    @Test
    void shouldDefaultToDenseFloat32OutputsWithInputAndLabel() {
        TeacherConfig c = new TeacherConfig(Map.of());
        assertThat(c.outputOptions()).isEqualTo(OutputOptions.defaults());
        assertThat(c.batchingPolicy()).isEqualTo(new BatchingPolicy(64, 20));
        assertThat(c.device()).isEqualTo("auto");
        assertThat(c.workers()).isEqualTo(1);
        assertThat(c.transactionalIdPrefix()).startsWith("kdstream-teacher-");
    }

    @Test
    void shouldReadOutputOptions() {
        TeacherConfig c = new TeacherConfig(Map.of(
                TeacherConfig.LOGITS_DTYPE_CONFIG, "FLOAT16",
                TeacherConfig.LOGITS_TOPK_CONFIG, "3",
                TeacherConfig.FEATURES_DTYPE_CONFIG, "BFLOAT16",
                TeacherConfig.FEATURES_CONFIG, "embedding",
                TeacherConfig.INCLUDE_INPUT_CONFIG, "false",
                TeacherConfig.TRANSACTIONAL_ID_PREFIX_CONFIG, "t1"));
        OutputOptions o = c.outputOptions();
        assertThat(o.logitsDtype()).isEqualTo(DType.FLOAT16);
        assertThat(o.topK()).isEqualTo(3);
        assertThat(o.featuresDtype()).isEqualTo(DType.BFLOAT16);
        assertThat(o.features()).isEqualTo(OutputOptions.FeatureSelection.of(List.of("embedding")));
        assertThat(o.includeInput()).isFalse();
        assertThat(o.includeLabel()).isTrue();
        assertThat(c.transactionalIdPrefix()).isEqualTo("t1");
        assertThat(new TeacherConfig(Map.of(TeacherConfig.FEATURES_CONFIG, "none")).outputOptions().features())
                .isEqualTo(OutputOptions.FeatureSelection.none());
    }

    @Test
    void shouldNameBothKeysWhenAMaxWaitIsSetForBatchesOfOne() {
        assertThatThrownBy(() -> new TeacherConfig(Map.of(TeacherConfig.BATCH_MAX_SIZE_CONFIG, "1",
                TeacherConfig.BATCH_MAX_WAIT_MS_CONFIG, "50")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(TeacherConfig.BATCH_MAX_SIZE_CONFIG)
                .hasMessageContaining(TeacherConfig.BATCH_MAX_WAIT_MS_CONFIG);
        assertThat(new TeacherConfig(Map.of(TeacherConfig.BATCH_MAX_SIZE_CONFIG, "1")).batchingPolicy().maxSize()).isEqualTo(1);
    }

    @Test
    void shouldNameBothKeysWhenATransactionCannotHoldOneBatch() {
        assertThatThrownBy(() -> new TeacherConfig(Map.of(TeacherConfig.BATCH_MAX_SIZE_CONFIG, "256",
                TeacherConfig.TRANSACTION_MAX_INPUTS_CONFIG, "128")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(TeacherConfig.BATCH_MAX_SIZE_CONFIG)
                .hasMessageContaining(TeacherConfig.TRANSACTION_MAX_INPUTS_CONFIG);
    }

    @Test
    void shouldRejectInvalidValuesNamingTheKey() {
        assertThatThrownBy(() -> new TeacherConfig(Map.of(TeacherConfig.DEVICE_CONFIG, "tpu")))
                .isInstanceOf(ConfigException.class).hasMessageContaining(TeacherConfig.DEVICE_CONFIG);
        assertThatThrownBy(() -> new TeacherConfig(Map.of(TeacherConfig.LOGITS_DTYPE_CONFIG, "INT32")))
                .isInstanceOf(ConfigException.class).hasMessageContaining(TeacherConfig.LOGITS_DTYPE_CONFIG);
        assertThatThrownBy(() -> new TeacherConfig(Map.of(TeacherConfig.WORKERS_CONFIG, "0")))
                .isInstanceOf(ConfigException.class).hasMessageContaining(TeacherConfig.WORKERS_CONFIG);
    }

    @Test
    void shouldKeepTeacherKeysOutOfTheKafkaClientProperties() {
        TeacherConfig c = new TeacherConfig(Map.of(TeacherConfig.WORKERS_CONFIG, "2", "security.protocol", "SSL"));
        assertThat(c.clientProperties()).containsEntry("security.protocol", "SSL").doesNotContainKey(TeacherConfig.WORKERS_CONFIG);
    }
}
