package io.kdstream.core.zoo;

import io.kdstream.core.KdException;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelZooTest {

    @ParameterizedTest
    @ValueSource(strings = {ModelZoo.FMNIST_CNN_TEACHER, ModelZoo.FMNIST_MLP_STUDENT, ModelZoo.FMNIST_TINY_CNN_STUDENT})
    void shouldReturnLogitsThenDeclaredFeaturesWithTheirNamesAndShapes(String name) {
        Architecture arch = ModelZoo.get(name);
        Engine.getEngine("PyTorch").setRandomSeed(1);
        try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            FeatureBlock block = arch.newBlock();
            block.initialize(manager, DataType.FLOAT32, new Shape(1, 1, 28, 28));
            NDList out = block.forward(new ParameterStore(manager, false),
                    new NDList(manager.randomUniform(0, 1, new Shape(3, 1, 28, 28))), false);

            assertThat(out).hasSize(1 + arch.features().size());
            assertThat(out.get(0).getShape()).isEqualTo(new Shape(3, arch.numClasses()));
            assertThat(out.get(0).getName()).isEqualTo(FeatureBlock.LOGITS);
            for (int i = 0; i < arch.features().size(); i++) {
                FeatureSpec f = arch.features().get(i);
                List<Long> expected = new ArrayList<>(List.of(3L));
                f.shape().forEach(d -> expected.add((long) d));
                assertThat(out.get(i + 1).getShape().getShape()).containsExactly(expected.stream().mapToLong(Long::longValue).toArray());
                assertThat(out.get(i + 1).getName()).isEqualTo(f.name());
            }
            assertThat(block.getOutputShapes(new Shape[] {new Shape(3, 1, 28, 28)})[0]).isEqualTo(new Shape(3, 10));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {ModelZoo.FMNIST_CNN_TEACHER, ModelZoo.FMNIST_MLP_STUDENT, ModelZoo.FMNIST_TINY_CNN_STUDENT})
    void shouldDeclareStridesThatMatchTheSpatialSizeOfEachMap(String name) {
        Architecture arch = ModelZoo.get(name);
        for (FeatureSpec f : arch.features()) {
            if (f.spatial()) {
                assertThat(f.stride() * f.shape().get(1)).as(f.name()).isEqualTo(arch.inputShape().get(1));
                assertThat(f.stride() * f.shape().get(2)).as(f.name()).isEqualTo(arch.inputShape().get(2));
            } else {
                assertThat(f.stride()).as(f.name()).isZero();
            }
        }
    }

    @Test
    void shouldKeepTheMlpStudentUnderOneHundredThousandParameters() {
        assertThat(parameterCount(ModelZoo.studentMlp())).isEqualTo(95_802).isLessThanOrEqualTo(100_000);
        assertThat(parameterCount(ModelZoo.studentTinyCnn())).isEqualTo(52_138);
        assertThat(parameterCount(ModelZoo.teacherCnn())).isGreaterThan(parameterCount(ModelZoo.studentTinyCnn()));
    }

    @Test
    void shouldExposeTheLastConvMapAndTheEmbeddingOfTheTeacher() {
        Architecture teacher = ModelZoo.teacherCnn();
        assertThat(teacher.features()).extracting(FeatureSpec::name).containsExactly("conv3", "embedding");
        assertThat(teacher.features().get(0)).isEqualTo(FeatureSpec.map("conv3", 4, 64, 7, 7));
        assertThat(teacher.features().get(1)).isEqualTo(FeatureSpec.embedding("embedding", 128));
    }

    @Test
    void shouldRejectAnUnknownArchitectureNamingTheKnownOnes() {
        assertThatThrownBy(() -> ModelZoo.get("resnet-9000"))
                .isInstanceOf(KdException.class)
                .hasMessageContaining("resnet-9000")
                .hasMessageContaining(ModelZoo.FMNIST_CNN_TEACHER);
    }

    private static long parameterCount(Architecture arch) {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            FeatureBlock block = arch.newBlock();
            block.initialize(manager, DataType.FLOAT32, new Shape(1, 1, 28, 28));
            long n = 0;
            for (Parameter p : block.getParameters().values()) {
                if (p.requiresGradient()) {
                    n += p.getArray().size();
                }
            }
            return n;
        }
    }
}
