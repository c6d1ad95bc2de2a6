package io.kdstream.core.zoo;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A {@link FeatureBlock} around a whole module that returns the logits and its features itself. */
class FeatureBlockModuleTest {

    @Test
    void shouldNameTheModuleOutputsLogitsThenFeatures() {
        // a "module" returning (x * 2, x + 1): logits and one feature
        FeatureBlock block = FeatureBlock.builder()
                .addModule(new LambdaBlock(in -> new NDList(in.singletonOrThrow().mul(2), in.singletonOrThrow().add(1))),
                        List.of("shifted"))
                .build();
        try (NDManager manager = NDManager.newBaseManager()) {
            block.initialize(manager, DataType.FLOAT32, new Shape(1, 3));
            NDList out = block.forward(new ParameterStore(manager, false), new NDList(manager.create(new float[] {1, 2, 3},
                    new Shape(1, 3))), false);
            assertThat(out).hasSize(2);
            assertThat(out.get(0).getName()).isEqualTo(FeatureBlock.LOGITS);
            assertThat(out.get(0).toFloatArray()).containsExactly(2, 4, 6);
            assertThat(out.get(1).getName()).isEqualTo("shifted");
            assertThat(block.featureNames()).containsExactly("shifted");
        }
    }

    @Test
    void shouldRefuseAModuleThatReturnsAnotherNumberOfArrays() {
        FeatureBlock block = FeatureBlock.builder()
                .addModule(new LambdaBlock(in -> in), List.of("missing"))
                .build();
        try (NDManager manager = NDManager.newBaseManager()) {
            block.initialize(manager, DataType.FLOAT32, new Shape(1, 3));
            assertThatThrownBy(() -> block.forward(new ParameterStore(manager, false), new NDList(manager.zeros(new Shape(1, 3))),
                    false)).isInstanceOf(IllegalStateException.class).hasMessageContaining("returned 1 arrays")
                    .hasMessageContaining("[missing]");
        }
    }

    @Test
    void shouldKeepAWholeModuleTheOnlyStage() {
        assertThatThrownBy(() -> FeatureBlock.builder().add(Linear.builder().setUnits(2).build())
                .addModule(new LambdaBlock(in -> in), List.of())).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> FeatureBlock.builder().addModule(new LambdaBlock(in -> in), List.of())
                .add(Linear.builder().setUnits(2).build())).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> FeatureBlock.builder().addModule(new LambdaBlock(in -> in), List.of("a", "a")))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
