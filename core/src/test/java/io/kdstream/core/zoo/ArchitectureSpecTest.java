package io.kdstream.core.zoo;

import io.kdstream.core.KdException;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ArchitectureSpecTest {

    @Test
    void shouldParseAnMlpSpec() {
        ArchitectureSpec spec = ArchitectureSpec.parse("mlp:512,256");
        assertThat(spec.kind()).isEqualTo(ArchitectureSpec.Kind.MLP);
        assertThat(spec.layers()).containsExactly(512, 256);
        assertThat(spec.dense()).isZero();
        assertThat(spec.canonical()).isEqualTo("mlp:512,256");
    }

    @Test
    void shouldParseACnnSpecWithAndWithoutADenseLayer() {
        ArchitectureSpec spec = ArchitectureSpec.parse("cnn:32,64:dense128");
        assertThat(spec.kind()).isEqualTo(ArchitectureSpec.Kind.CNN);
        assertThat(spec.layers()).containsExactly(32, 64);
        assertThat(spec.dense()).isEqualTo(128);
        assertThat(spec.canonical()).isEqualTo("cnn:32,64:dense128");
        assertThat(ArchitectureSpec.parse("cnn:8").canonical()).isEqualTo("cnn:8");
        assertThat(ArchitectureSpec.parse(" cnn:8, 16 ").canonical()).isEqualTo("cnn:8,16");
    }

    @Test
    void shouldTellSpecsFromZooNames() {
        assertThat(ArchitectureSpec.isSpec("mlp:10")).isTrue();
        assertThat(ArchitectureSpec.isSpec("cnn:8")).isTrue();
        assertThat(ArchitectureSpec.isSpec(ModelZoo.FMNIST_MLP_STUDENT)).isFalse();
        assertThat(ArchitectureSpec.isSpec(null)).isFalse();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "rnn:32|'rnn' is not a student kind",
            "mlp:|the hidden layers are missing",
            "mlp|the hidden layers are missing",
            "cnn:|the conv channels are missing",
            "mlp:512,abc|'abc' is not a hidden layer",
            "mlp:512,,256|'' is not a hidden layer",
            "mlp:0|hidden layer 0 is outside [1, 65536]",
            "mlp:512:dense10|'dense10' is extra",
            "cnn:32,-4|conv channel count -4 is outside",
            "cnn:32,64:fc128|'fc128' is not a dense layer",
            "cnn:32,64:densex|'x' is not a dense layer unit count",
            "cnn:32,64:dense128:more|'more' is extra",
    })
    void shouldNameTheBadPartOfASpec(String spec, String expected) {
        assertThatThrownBy(() -> ArchitectureSpec.parse(spec))
                .isInstanceOf(KdException.class)
                .hasMessageContaining("'" + spec + "'")
                .hasMessageContaining(expected);
    }

    @Test
    void shouldDeclareTheFeatureTapsOfACnnWithTheirStrides() {
        Architecture a = ArchitectureSpec.parse("cnn:8,16:dense32").build(List.of(3, 32, 32), 5);
        assertThat(a.name()).isEqualTo("cnn:8,16:dense32");
        assertThat(a.inputShape()).containsExactly(3, 32, 32);
        assertThat(a.numClasses()).isEqualTo(5);
        assertThat(a.features()).containsExactly(FeatureSpec.map("conv1", 2, 8, 16, 16), FeatureSpec.map("conv2", 4, 16, 8, 8),
                FeatureSpec.embedding("embedding", 32));
    }

    @Test
    void shouldDeclareTheFeatureTapsOfAnMlp() {
        Architecture a = ArchitectureSpec.parse("mlp:64,32,16").build(List.of(40), 3);
        assertThat(a.features()).containsExactly(FeatureSpec.embedding("hidden1", 64), FeatureSpec.embedding("hidden2", 32),
                FeatureSpec.embedding("embedding", 16));
    }

    @Test
    void shouldReturnLogitsAndEveryDeclaredFeatureWithTheDeclaredShapes() {
        for (String s : List.of("cnn:4,8:dense16", "cnn:4,8", "mlp:16,8")) {
            Architecture a = ArchitectureSpec.parse(s).build(List.of(3, 20, 12), 5);
            try (NDManager m = NDManager.newBaseManager()) {
                FeatureBlock block = a.newBlock();
                block.initialize(m, DataType.FLOAT32, new Shape(2, 3, 20, 12));
                var out = block.forward(new ai.djl.training.ParameterStore(m, false),
                        new ai.djl.ndarray.NDList(m.ones(new Shape(2, 3, 20, 12))), false);
                assertThat(out).as(s).hasSize(1 + a.features().size());
                assertThat(out.get(0).getShape()).as(s).isEqualTo(new Shape(2, 5));
                for (int i = 0; i < a.features().size(); i++) {
                    long[] declared = a.features().get(i).shape().stream().mapToLong(Integer::longValue).toArray();
                    assertThat(Arrays.copyOfRange(out.get(i + 1).getShape().getShape(), 1, 1 + declared.length))
                            .as(s + " " + a.features().get(i).name()).containsExactly(declared);
                }
            }
        }
    }

    @Test
    void shouldReadATwoDimensionalInputAsOneChannel() {
        Architecture a = ArchitectureSpec.parse("cnn:4").build(List.of(28, 28), 10);
        assertThat(a.inputShape()).containsExactly(1, 28, 28);
    }

    @Test
    void shouldRefuseShapesTheSpecCannotTake() {
        assertThatThrownBy(() -> ArchitectureSpec.parse("cnn:4,4,4").build(List.of(1, 4, 4), 2))
                .isInstanceOf(KdException.class).hasMessageContaining("cnn:4,4,4").hasMessageContaining("4x4")
                .hasMessageContaining("after block 3");
        assertThatThrownBy(() -> ArchitectureSpec.parse("cnn:4").build(List.of(100), 2))
                .isInstanceOf(KdException.class).hasMessageContaining("needs an image input").hasMessageContaining("[100]");
        assertThatThrownBy(() -> ArchitectureSpec.parse("mlp:4").build(List.of(3, 0), 2))
                .isInstanceOf(KdException.class).hasMessageContaining("[3, 0]");
        assertThatThrownBy(() -> ArchitectureSpec.parse("mlp:4").build(List.of(3), 0))
                .isInstanceOf(KdException.class).hasMessageContaining("class count");
    }
}
