package io.kdstream.teacher.serve;

import io.kdstream.avro.DType;
import io.kdstream.avro.Tensor;
import io.kdstream.schemas.tensor.TensorCodec;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TeacherViewsTest {
    private static final TeacherViews VIEWS = new TeacherViews(4, 2, true, 9);

    @Test
    void shouldMakeViewZeroTheInputItselfAndEveryViewAPureFunctionOfIdIndexAndSeed() {
        assertThat(VIEWS.view("a", 0)).isEqualTo(TeacherViews.View.IDENTITY);
        assertThat(VIEWS.view("a", 2)).isEqualTo(VIEWS.view("a", 2));
        assertThat(new TeacherViews(4, 2, true, 10).view("a", 2)).isNotNull();
        Set<TeacherViews.View> seen = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            TeacherViews.View v = VIEWS.view("id-" + i, 1);
            assertThat(v.dx()).isBetween(-2, 2);
            assertThat(v.dy()).isBetween(-2, 2);
            seen.add(new TeacherViews.View(1, v.dx(), v.dy(), v.flip()));
        }
        // 5 x 5 shifts x 2 flips: a seeded spread, not one fixed view
        assertThat(seen.size()).isGreaterThan(30);
    }

    @Test
    void shouldShiftWithZeroFillAndMirror() {
        // a 3x3 single-channel image 1..9
        float[] src = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        float[] dst = new float[9];
        new TeacherViews.View(1, 1, 0, false).apply(src, 1, 3, 3, dst, 0);
        assertThat(dst).containsExactly(0, 1, 2, 0, 4, 5, 0, 7, 8);
        new TeacherViews.View(1, 0, -1, true).apply(src, 1, 3, 3, dst, 0);
        assertThat(dst).containsExactly(6, 5, 4, 9, 8, 7, 0, 0, 0);
    }

    @Test
    void shouldReproduceAViewsTensorFromItsPublishedParameters() {
        byte[] pixels = new byte[28 * 28];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) (i * 31);
        }
        Tensor input = TensorCodec.fromUint8(pixels, 28, 28);
        TeacherViews.View view = VIEWS.view("fmnist-train-7", 3);
        float[] scaled = new float[784];
        Tensor published = TeacherViews.viewTensor(input, view, List.of(1, 28, 28), scaled, 0, 784);

        // a consumer that knows only the published attributes rebuilds the same tensor from the original pixels
        TeacherViews.View rebuilt = TeacherViews.View.fromAttributes(view.attributes(VIEWS.count()));
        assertThat(rebuilt).isEqualTo(view);
        assertThat(published.getDtype()).isEqualTo(DType.UINT8);
        assertThat(published.getShape()).containsExactly(28, 28);
        assertThat(TensorCodec.toUint8("view", published)).containsExactly(rebuilt.apply(pixels, 1, 28, 28));
        assertThat(TeacherViews.View.fromAttributes(java.util.Map.of())).isEqualTo(TeacherViews.View.IDENTITY);
    }

    @Test
    void shouldRefuseViewsTheServiceCannotPublish() {
        assertThatThrownBy(() -> new TeacherViews(0, 2, true, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TeacherConfig(java.util.Map.of(TeacherConfig.VIEWS_PER_INPUT_CONFIG, 2,
                TeacherConfig.INCLUDE_INPUT_CONFIG, false)))
                .hasMessageContaining(TeacherConfig.VIEWS_PER_INPUT_CONFIG).hasMessageContaining(TeacherConfig.INCLUDE_INPUT_CONFIG);
        assertThatThrownBy(() -> new TeacherConfig(java.util.Map.of(TeacherConfig.VIEWS_PER_INPUT_CONFIG, 8,
                TeacherConfig.BATCH_MAX_SIZE_CONFIG, 4)))
                .hasMessageContaining(TeacherConfig.VIEWS_PER_INPUT_CONFIG).hasMessageContaining(TeacherConfig.BATCH_MAX_SIZE_CONFIG);
        assertThat(new TeacherConfig(java.util.Map.of()).views()).isEqualTo(new TeacherViews(1, 2, true, 0));
    }
}
