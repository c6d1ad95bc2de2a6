package io.kdstream.core.model;

import io.kdstream.core.KdException;
import io.kdstream.core.zoo.FeatureSpec;
import io.kdstream.core.zoo.ModelZoo;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelMetadataTest {

    private static final String SHA = "ab".repeat(32);

    @Test
    void shouldRoundTripThroughJsonWithFeatureChannelsAndStrides() {
        ModelMetadata m = ModelMetadata.draft(ModelZoo.teacherCnn(), ModelStore.PARAMETERS_FILE)
                .withSha256(SHA).withVersion("v7").withTestAccuracy(0.9231)
                .withTraining(new ModelMetadata.TrainingInfo("fashion-mnist/train", 8, 42, 128, 0.001, 512.5));

        String json = m.toJson();
        ModelMetadata back = ModelMetadata.fromJson(json, "test");

        assertThat(back).isEqualTo(m);
        assertThat(json).contains("\"channels\": 64", "\"stride\": 4", "\"architecture\": \"fmnist-cnn-teacher\"");
        assertThat(back.feature("conv3")).contains(FeatureSpec.map("conv3", 4, 64, 7, 7));
        assertThat(back.inputSize()).isEqualTo(784);
    }

    @Test
    void shouldFillDefaultsForAMinimalTorchScriptSidecar() {
        String json = """
                {"format": "torchscript", "architecture": "mine", "inputShape": [1, 28, 28], "numClasses": 10,
                 "parametersFile": "mine.pt",
                 "features": [{"name": "emb", "shape": [32]}]}
                """;
        ModelMetadata m = ModelMetadata.fromJson(json, "mine.json");
        assertThat(m.format()).isEqualTo(ModelFormat.TORCHSCRIPT);
        assertThat(m.version()).isEqualTo("1");
        assertThat(m.parametersSha256()).isEmpty();
        assertThat(m.features()).containsExactly(FeatureSpec.embedding("emb", 32));
        assertThat(m.testAccuracy()).isEmpty();
    }

    @Test
    void shouldNameTheSourceAndTheProblemOfInvalidMetadata() {
        assertThatThrownBy(() -> ModelMetadata.fromJson("{\"architecture\": \"x\"}", "dir/metadata.json"))
                .isInstanceOf(KdException.class).hasMessageContaining("dir/metadata.json").hasMessageContaining("inputShape");
        assertThatThrownBy(() -> ModelMetadata.fromJson("not json", "m.json"))
                .isInstanceOf(KdException.class).hasMessageContaining("m.json");
        String wrongChannels = """
                {"architecture": "x", "inputShape": [4], "numClasses": 2, "parametersFile": "p",
                 "features": [{"name": "f", "channels": 3, "stride": 0, "shape": [4]}]}
                """;
        assertThatThrownBy(() -> ModelMetadata.fromJson(wrongChannels, "m.json"))
                .isInstanceOf(KdException.class).hasMessageContaining("channels 3");
        assertThatThrownBy(() -> ModelMetadata.fromJson("{\"formatVersion\": 99}", "m.json"))
                .isInstanceOf(KdException.class).hasMessageContaining("newer");
    }

    @Test
    void shouldValidateItsFieldsInTheConstructor() {
        assertThatThrownBy(() -> new ModelMetadata(ModelFormat.DJL, "a", "1", List.of(1, 28, 28), 10, List.of(),
                "p", "not-a-sha", Optional.empty(), Optional.empty())).hasMessageContaining("parametersSha256");
        assertThatThrownBy(() -> new ModelMetadata(ModelFormat.DJL, "a", "1", List.of(1, 28, 28), 10, List.of(),
                "../p", "", Optional.empty(), Optional.empty())).hasMessageContaining("plain file name");
        assertThatThrownBy(() -> new ModelMetadata(ModelFormat.DJL, "a", "1", List.of(1, 28, 28), 10,
                List.of(FeatureSpec.embedding("e", 2), FeatureSpec.embedding("e", 3)), "p", "", Optional.empty(),
                Optional.empty())).hasMessageContaining("duplicate");
        assertThatThrownBy(() -> new ModelMetadata(ModelFormat.DJL, "a", "1", List.of(1, 28, 28), 10, List.of(),
                "p", "", Optional.of(1.5), Optional.empty())).hasMessageContaining("testAccuracy");
    }
}
