package io.kdstream.core.model;

import io.kdstream.core.KdException;
import io.kdstream.core.zoo.Architecture;
import io.kdstream.core.zoo.FeatureBlock;
import io.kdstream.core.zoo.ModelZoo;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelStoreTest {

    @TempDir
    Path tmp;

    @Test
    void shouldSaveParametersAndMetadataAndReloadAnIdenticalModel() {
        Architecture arch = ModelZoo.studentTinyCnn();
        ModelStore store = ModelStore.open(tmp.resolve("models"));
        Engine.getEngine("PyTorch").setRandomSeed(3);
        try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            FeatureBlock block = arch.newBlock();
            block.initialize(manager, DataType.FLOAT32, new Shape(1, 1, 28, 28));
            NDArray x = manager.randomUniform(0, 1, new Shape(2, 1, 28, 28));
            float[] before = forward(block, manager, x);

            SavedModel saved = store.save(block, ModelMetadata.draft(arch, ModelStore.PARAMETERS_FILE).withTestAccuracy(0.5), true);

            assertThat(saved.metadata().parametersSha256()).isEqualTo(Sha256.of(saved.parametersPath()));
            assertThat(saved.dir().getFileName().toString()).startsWith(arch.name() + "-").endsWith(saved.metadata().version());
            assertThat(store.latest()).contains(saved.dir());
            assertThat(store.resolve(null)).isEqualTo(saved.dir());

            SavedModel read = ModelStore.read(saved.dir());
            assertThat(read.metadata()).isEqualTo(saved.metadata());
            FeatureBlock reloaded = arch.newBlock();
            ModelStore.loadParameters(reloaded, manager, read);
            assertThat(forward(reloaded, manager, x)).containsExactly(before);
        }
    }

    @Test
    void shouldRefuseParametersThatDoNotMatchTheirSha256() throws IOException {
        Architecture arch = ModelZoo.studentMlp();
        SavedModel saved;
        try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            FeatureBlock block = arch.newBlock();
            block.initialize(manager, DataType.FLOAT32, new Shape(1, 1, 28, 28));
            saved = ModelStore.saveTo(tmp.resolve("m"), block, ModelMetadata.draft(arch, ModelStore.PARAMETERS_FILE));
        }
        Files.write(saved.parametersPath(), new byte[] {1}, StandardOpenOption.APPEND);

        assertThatThrownBy(() -> ModelStore.read(saved.dir()))
                .isInstanceOf(KdException.class).hasMessageContaining("sha256");
    }

    @Test
    void shouldExplainWhatToDoWhenTheStoreHasNoModel() {
        ModelStore store = ModelStore.open(tmp.resolve("empty"));
        assertThat(store.latest()).isEmpty();
        assertThatThrownBy(() -> store.resolve(null))
                .isInstanceOf(KdException.class).hasMessageContaining("kdstream teacher train");
        assertThatThrownBy(() -> store.resolve("nope")).isInstanceOf(KdException.class).hasMessageContaining("nope");
        assertThatThrownBy(() -> ModelStore.read(tmp)).isInstanceOf(KdException.class).hasMessageContaining(ModelStore.METADATA_FILE);
    }

    @Test
    void shouldPointLatestAtADirectoryOutsideTheStore() {
        ModelStore store = ModelStore.open(tmp.resolve("models"));
        Path elsewhere = tmp.resolve("elsewhere");
        store.setLatest(elsewhere);
        assertThat(store.latest()).contains(elsewhere);
        Path inside = store.root().resolve("m1");
        store.setLatest(inside);
        assertThat(store.latest()).contains(inside);
    }

    @Test
    void shouldDefaultToKdstreamHomeOrTheUserHome() {
        assertThat(ModelStore.defaultRoot("/opt/kd")).isEqualTo(Path.of("/opt/kd/models"));
        assertThat(ModelStore.defaultRoot(null)).isEqualTo(Path.of(System.getProperty("user.home"), ".kdstream", "models"));
        assertThat(ModelStore.sidecarOf(Path.of("/a/teacher.pt"))).isEqualTo(Path.of("/a/teacher.json"));
    }

    private static float[] forward(FeatureBlock block, NDManager manager, NDArray x) {
        try (NDManager scope = manager.newSubManager()) {
            NDList out = block.forward(new ParameterStore(scope, false), new NDList(x), false);
            float[] logits = out.get(0).toFloatArray();
            out.forEach(a -> a.close());
            return logits;
        }
    }

    @Test
    void shouldNameModelDirectoriesOfSpecStudentsWithPlainCharacters() {
        assertThat(ModelStore.directoryName("cnn:32,64:dense128")).isEqualTo("cnn_32_64_dense128");
        assertThat(ModelStore.directoryName("fmnist-mlp-student")).isEqualTo("fmnist-mlp-student");
    }
}
