package io.kdstream.trainer;

import io.kdstream.trainer.loss.DecoupledKd;

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

    @Test
    void shouldAcceptTheEmaTeacherModesWithTheirKeys() {
        TrainerConfig ema = new TrainerConfig(Map.of(TrainerConfig.TEACHER_CONFIG, "ema", TrainerConfig.EMA_DECAY_CONFIG, 0.999,
                TrainerConfig.LABEL_FRACTION_CONFIG, 0.1));
        assertThat(ema.teacherEma()).isTrue();
        assertThat(ema.teacherStream()).isFalse();
        assertThat(ema.readsInputs()).isTrue();
        TrainerConfig both = new TrainerConfig(Map.of(TrainerConfig.TEACHER_CONFIG, "stream+ema"));
        assertThat(both.teacherEma()).isTrue();
        assertThat(both.teacherStream()).isTrue();
        assertThat(both.readsInputs()).isFalse();
    }

    @Test
    void shouldRejectEmaKeysWithoutAnEmaTeacherNamingBothKeys() {
        assertThatThrownBy(() -> new TrainerConfig(Map.of(TrainerConfig.EMA_DECAY_CONFIG, 0.9)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(TrainerConfig.EMA_DECAY_CONFIG).hasMessageContaining(TrainerConfig.TEACHER_CONFIG + "=stream");
        assertThatThrownBy(() -> new TrainerConfig(Map.of(TrainerConfig.TEACHER_CONFIG, "none",
                TrainerConfig.AUGMENT_NOISE_STD_CONFIG, 0.2)))
                .isInstanceOf(ConfigException.class).hasMessageContaining(TrainerConfig.AUGMENT_NOISE_STD_CONFIG);
    }

    @Test
    void shouldAcceptEmaKeysAtTheirDefaultsWithoutAnEmaTeacherAsAReplayedManifestCarriesThem() {
        Map<String, String> everyKey = new TrainerConfig(Map.of()).redacted();
        assertThat(new TrainerConfig(everyKey).teacherEma()).isFalse();
    }

    @Test
    void shouldRejectOutOfRangeEmaValues() {
        assertThatThrownBy(() -> new TrainerConfig(Map.of(TrainerConfig.TEACHER_CONFIG, "ema", TrainerConfig.EMA_DECAY_CONFIG, 1.0)))
                .isInstanceOf(ConfigException.class).hasMessageContaining(TrainerConfig.EMA_DECAY_CONFIG);
        assertThatThrownBy(() -> new TrainerConfig(Map.of(TrainerConfig.TEACHER_CONFIG, "ema",
                TrainerConfig.CONSISTENCY_WEIGHT_CONFIG, 1.5)))
                .isInstanceOf(ConfigException.class).hasMessageContaining(TrainerConfig.CONSISTENCY_WEIGHT_CONFIG);
        assertThatThrownBy(() -> new TrainerConfig(Map.of(TrainerConfig.TEACHER_CONFIG, "bogus")))
                .isInstanceOf(ConfigException.class).hasMessageContaining(TrainerConfig.TEACHER_CONFIG);
    }

    @Test
    void shouldRejectALabelFractionThatLeavesNothingToLearn() {
        assertThatThrownBy(() -> new TrainerConfig(Map.of(TrainerConfig.TEACHER_CONFIG, "ema", TrainerConfig.LABEL_FRACTION_CONFIG, 0.0)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(TrainerConfig.LABEL_FRACTION_CONFIG).hasMessageContaining(TrainerConfig.TEACHER_CONFIG);
        assertThatThrownBy(() -> new TrainerConfig(Map.of(TrainerConfig.TEACHER_CONFIG, "none", TrainerConfig.LABEL_FRACTION_CONFIG, 0.0)))
                .isInstanceOf(ConfigException.class).hasMessageContaining(TrainerConfig.LABEL_FRACTION_CONFIG);
        // DKD splits an unlabelled example on the teacher's top class, so it takes a label fraction too
        assertThat(new TrainerConfig(Map.of(TrainerConfig.KD_LOSS_CONFIG, "dkd", TrainerConfig.LABEL_FRACTION_CONFIG, 0.5))
                .labelFraction()).isEqualTo(0.5);
        // pure distillation from the stream teacher needs no labels
        assertThat(new TrainerConfig(Map.of(TrainerConfig.LABEL_FRACTION_CONFIG, 0.0)).labelFraction()).isZero();
    }

    @Test
    void shouldLeaveEmaKeysAtTheirDefaultsOutOfTheTrainingHashSoOlderCheckpointsResume() {
        TrainerConfig plain = new TrainerConfig(Map.of());
        assertThat(plain.trainingSettings()).doesNotContainKeys(TrainerConfig.EMA_DECAY_CONFIG, TrainerConfig.LABEL_FRACTION_CONFIG,
                TrainerConfig.AUGMENT_SHIFT_CONFIG);
        TrainerConfig ema = new TrainerConfig(Map.of(TrainerConfig.TEACHER_CONFIG, "ema", TrainerConfig.EMA_DECAY_CONFIG, 0.9));
        assertThat(ema.trainingSettings()).containsEntry(TrainerConfig.EMA_DECAY_CONFIG, "0.9")
                .containsEntry(TrainerConfig.TEACHER_CONFIG, "ema");
        TrainerConfig other = new TrainerConfig(Map.of(TrainerConfig.TEACHER_CONFIG, "ema", TrainerConfig.EMA_DECAY_CONFIG, 0.95));
        assertThat(TrainerConfig.canonicalSha256(ema.trainingSettings())).isNotEqualTo(TrainerConfig.canonicalSha256(other.trainingSettings()));
    }

    @Test
    void shouldScoreOnTheTestSplitUnlessTheValidationSplitIsAskedFor() {
        assertThat(new TrainerConfig(Map.of()).evalOnValidation()).isFalse();
        TrainerConfig tuning = new TrainerConfig(Map.of(TrainerConfig.EVAL_SPLIT_CONFIG, "validation",
                TrainerConfig.EVAL_VALIDATION_IMAGES_CONFIG, 4000));
        assertThat(tuning.evalOnValidation()).isTrue();
        assertThat(tuning.evalValidationImages()).isEqualTo(4000);
        // where it is scored does not change what it computes: a tuning run and its final run share a training hash
        assertThat(tuning.trainingSettings()).isEqualTo(new TrainerConfig(Map.of()).trainingSettings());
        assertThatThrownBy(() -> new TrainerConfig(Map.of(TrainerConfig.EVAL_SPLIT_CONFIG, "train")))
                .isInstanceOf(ConfigException.class).hasMessageContaining(TrainerConfig.EVAL_SPLIT_CONFIG);
    }

    @Test
    void shouldKeepTheTrainingHashOfCheckpointsWrittenBeforeLaterKeys() {
        // hashes of the training settings as the trainer computed them before the keys of later features (EMA teacher,
        // clipping, spec shapes, TorchScript students, distillation-term keys) were handled by FIRST_FORMAT_KEYS
        assertThat(TrainerConfig.canonicalSha256(new TrainerConfig(Map.of()).trainingSettings()))
                .isEqualTo("421339b8bba0146ddf2e16cce5a452b909d67d02ae477bd319d93701ad78babc");
        assertThat(TrainerConfig.canonicalSha256(new TrainerConfig(Map.of(TrainerConfig.TEACHER_CONFIG, "ema",
                TrainerConfig.NUM_CLASSES_CONFIG, "10", TrainerConfig.GRAD_CLIP_CONFIG, "1.5")).trainingSettings()))
                .isEqualTo("23174c7343627d46e2f8dbe177e1aa420987b64cf249d13d2374b0f052c0c22e");
    }

    @Test
    void shouldDefineTheKeysOfEveryDistillationTermAndHashThemOnlyOffTheirDefault() {
        assertThat(TrainerConfig.configDef().names()).contains(DecoupledKd.ALPHA_CONFIG, DecoupledKd.BETA_CONFIG);
        TrainerConfig tuned = new TrainerConfig(Map.of(TrainerConfig.KD_LOSS_CONFIG, "dkd", DecoupledKd.BETA_CONFIG, "4"));
        assertThat(tuned.trainingSettings()).containsEntry(DecoupledKd.BETA_CONFIG, "4.0");
        assertThatThrownBy(() -> new TrainerConfig(Map.of(DecoupledKd.BETA_CONFIG, "-1"))).isInstanceOf(ConfigException.class)
                .hasMessageContaining(DecoupledKd.BETA_CONFIG);
        assertThatThrownBy(() -> new TrainerConfig(Map.of(TrainerConfig.KD_LOSS_CONFIG, "kl")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("one of: hinton, lskd, dkd, binary");
        assertThatThrownBy(() -> new TrainerConfig(Map.of(TrainerConfig.KD_LOSS_CONFIG, "dkd", TrainerConfig.CTKD_ENABLED_CONFIG, "true")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("needs kd.loss=hinton or lskd, got dkd");
    }
}
