package io.kdstream.trainer.group;

import io.kdstream.trainer.state.TrainingCore;

import io.kdstream.core.KdException;
import io.kdstream.core.zoo.ModelZoo;
import io.kdstream.trainer.TrainerConfig;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The parameter view a trainer group averages: every trainable array, in a fixed order, loadable back. */
class GroupParametersTest {

    @Test
    void shouldLoadParametersOfAnotherMemberBitForBit() {
        TrainerConfig seven = new TrainerConfig(Map.of(TrainerConfig.SEED_CONFIG, 7L));
        TrainerConfig eight = new TrainerConfig(Map.of(TrainerConfig.SEED_CONFIG, 8L));
        try (TrainingCore a = new TrainingCore(seven, ModelZoo.studentMlp());
             TrainingCore b = new TrainingCore(eight, ModelZoo.studentMlp())) {
            Map<String, float[]> pa = a.parameters();
            assertThat(pa.keySet()).containsExactlyElementsOf(b.parameters().keySet()).allMatch(k -> k.startsWith("param:"));
            assertThat(pa.values().iterator().next()).isNotEqualTo(b.parameters().values().iterator().next());
            b.loadParameters(pa);
            Map<String, float[]> pb = b.parameters();
            pa.forEach((k, v) -> assertThat(pb.get(k)).as(k).containsExactly(v));
        }
    }

    @Test
    void shouldRejectParametersThatDoNotFit() {
        try (TrainingCore core = new TrainingCore(new TrainerConfig(Map.of()), ModelZoo.studentMlp())) {
            Map<String, float[]> wrong = new LinkedHashMap<>();
            String first = core.parameters().keySet().iterator().next();
            wrong.put(first, new float[3]);
            assertThatThrownBy(() -> core.loadParameters(wrong)).isInstanceOf(KdException.class).hasMessageContaining(first);
        }
    }
}
