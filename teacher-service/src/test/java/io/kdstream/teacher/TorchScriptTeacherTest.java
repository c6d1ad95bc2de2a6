package io.kdstream.teacher;

import io.kdstream.core.KdException;
import io.kdstream.core.zoo.FeatureSpec;

import ai.djl.Device;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The fixture and its expected outputs come from src/test/python/make_torchscript_fixture.py. */
class TorchScriptTeacherTest {

    @TempDir
    Path tmp;

    static Path fixture(String name) {
        try {
            return Path.of(TorchScriptTeacherTest.class.getResource("/torchscript/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void shouldReproduceTheLogitsPyTorchComputedAndNameFeaturesFromTheSidecar() throws IOException {
        JsonObject expected = JsonParser.parseString(Files.readString(fixture("tiny_teacher.expected.json"))).getAsJsonObject();
        int n = expected.get("examples").getAsInt();
        try (Teacher teacher = TeacherLoader.load(fixture("tiny_teacher.pt"), Device.cpu());
             TeacherPredictor predictor = teacher.newPredictor()) {
            assertThat(teacher.info().name()).isEqualTo("tiny-torchscript-teacher");
            assertThat(teacher.metadata().features()).containsExactly(
                    FeatureSpec.map("conv2", 4, 8, 7, 7), FeatureSpec.embedding("embedding", 16));

            BatchOutput out = predictor.predict(pattern(n), n);

            JsonArray logits = expected.getAsJsonArray("logits");
            for (int i = 0; i < n; i++) {
                float[] row = out.logits(i);
                for (int c = 0; c < 10; c++) {
                    assertThat(row[c]).isCloseTo(logits.get(i).getAsJsonArray().get(c).getAsFloat(), within(1e-5f));
                }
                assertThat(sum(out.feature(0, i))).isCloseTo(expected.getAsJsonArray("conv2Sum").get(i).getAsFloat(), within(1e-3f));
                assertThat(sum(out.feature(1, i))).isCloseTo(expected.getAsJsonArray("embeddingSum").get(i).getAsFloat(), within(1e-4f));
            }
            assertThat(out.featureShapes()).containsExactly(List.of(8, 7, 7), List.of(16));
        }
    }

    @Test
    void shouldProbeDefaultNamesAndStridesWhenThereIsNoSidecar() throws IOException {
        Path bare = tmp.resolve("bare.pt");
        Files.copy(fixture("tiny_teacher.pt"), bare);
        try (Teacher teacher = TeacherLoader.load(bare, Device.cpu())) {
            assertThat(teacher.metadata().numClasses()).isEqualTo(10);
            assertThat(teacher.metadata().features()).containsExactly(
                    FeatureSpec.map("feature1", 4, 8, 7, 7), FeatureSpec.embedding("feature2", 16));
            assertThat(teacher.info().name()).isEqualTo("bare");
            assertThat(teacher.info().sha256()).hasSize(64);
        }
    }

    @Test
    void shouldRefuseAModuleThatDoesNotMatchItsRecordedSha256() throws IOException {
        Path dir = tmp.resolve("m");
        Files.createDirectories(dir);
        Files.copy(fixture("tiny_teacher.pt"), dir.resolve("tiny_teacher.pt"));
        Files.copy(fixture("tiny_teacher.json"), dir.resolve("tiny_teacher.json"));
        Files.write(dir.resolve("tiny_teacher.pt"), new byte[] {0}, StandardOpenOption.APPEND);
        assertThatThrownBy(() -> TeacherLoader.load(dir.resolve("tiny_teacher.pt"), Device.cpu()))
                .isInstanceOf(KdException.class).hasMessageContaining("sha256");
    }

    @Test
    void shouldRefuseASidecarThatDeclaresOtherFeaturesThanTheModuleReturns() throws IOException {
        Path dir = tmp.resolve("m");
        Files.createDirectories(dir);
        Files.copy(fixture("tiny_teacher.pt"), dir.resolve("tiny_teacher.pt"));
        String json = Files.readString(fixture("tiny_teacher.json"), StandardCharsets.UTF_8)
                .replace("\"shape\": [16]", "\"shape\": [32]").replace("\"channels\": 16", "\"channels\": 32");
        Files.writeString(dir.resolve("tiny_teacher.json"), json);
        assertThatThrownBy(() -> TeacherLoader.load(dir.resolve("tiny_teacher.pt"), Device.cpu()))
                .isInstanceOf(KdException.class).hasMessageContaining("embedding");
    }

    /** Pixel j of example i = ((i * 7919 + j * 37) mod 256) / 255, as in the fixture script. */
    static float[] pattern(int n) {
        float[] x = new float[n * 784];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 784; j++) {
                x[i * 784 + j] = ((i * 7919 + j * 37) % 256) / 255f;
            }
        }
        return x;
    }

    private static float sum(float[] v) {
        double s = 0;
        for (float f : v) {
            s += f;
        }
        return (float) s;
    }
}
