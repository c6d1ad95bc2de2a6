package io.kdstream.trainer;

import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TrainerConfigTest {

    @Test
    void shouldRequireShuffleBufferToBeAMultipleOfBatchSizeNamingBothKeys() {
        assertThatThrownBy(() -> new TrainerConfig(Map.of(TrainerConfig.BATCH_SIZE_CONFIG, 64, TrainerConfig.SHUFFLE_BUFFER_CONFIG, 100)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(TrainerConfig.SHUFFLE_BUFFER_CONFIG).hasMessageContaining(TrainerConfig.BATCH_SIZE_CONFIG);
    }

    @Test
    void shouldRejectDistillationOptionsOnALabelsOnlyRun() {
        assertThatThrownBy(() -> new TrainerConfig(Map.of(TrainerConfig.TEACHER_CONFIG, "none", TrainerConfig.FEATURE_WEIGHT_CONFIG, 1.0)))
                .isInstanceOf(ConfigException.class).hasMessageContaining(TrainerConfig.TEACHER_CONFIG);
    }

    @Test
    void shouldRejectMalformedSchedules() {
        assertThatThrownBy(() -> new TrainerConfig(Map.of(TrainerConfig.KD_TEMPERATURE_CONFIG, "linear:1")))
                .isInstanceOf(ConfigException.class).hasMessageContaining(TrainerConfig.KD_TEMPERATURE_CONFIG);
    }

    @Test
    void shouldKeepWhereARunExecutesOutOfTheTrainingHash() {
        TrainerConfig a = new TrainerConfig(Map.of(TrainerConfig.CHECKPOINT_DIR_CONFIG, "/a", "bootstrap.servers", "h1:9092"));
        TrainerConfig b = new TrainerConfig(Map.of(TrainerConfig.CHECKPOINT_DIR_CONFIG, "/b", "bootstrap.servers", "h2:9092"));
        TrainerConfig c = new TrainerConfig(Map.of(TrainerConfig.SEED_CONFIG, 7L));
        assertThat(TrainerConfig.canonicalSha256(a.trainingSettings())).isEqualTo(TrainerConfig.canonicalSha256(b.trainingSettings()));
        assertThat(TrainerConfig.canonicalSha256(a.trainingSettings())).isNotEqualTo(TrainerConfig.canonicalSha256(c.trainingSettings()));
        assertThat(a.trainingSettings()).containsKey(TrainerConfig.KD_TEMPERATURE_CONFIG).doesNotContainKey(TrainerConfig.CHECKPOINT_DIR_CONFIG);
    }
}
