package io.kdstream.core.zoo;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FeatureSpecTest {

    @Test
    void shouldDeriveChannelsSizeAndSpatialityFromTheShape() {
        FeatureSpec map = FeatureSpec.map("conv3", 4, 64, 7, 7);
        assertThat(map.channels()).isEqualTo(64);
        assertThat(map.size()).isEqualTo(64 * 49);
        assertThat(map.spatial()).isTrue();
        FeatureSpec emb = FeatureSpec.embedding("embedding", 128);
        assertThat(emb.channels()).isEqualTo(128);
        assertThat(emb.spatial()).isFalse();
        assertThat(emb.stride()).isZero();
    }

    @Test
    void shouldRejectInconsistentStridesAndShapes() {
        assertThatThrownBy(() -> new FeatureSpec("e", 2, List.of(16))).hasMessageContaining("stride 0");
        assertThatThrownBy(() -> new FeatureSpec("m", 0, List.of(8, 7, 7))).hasMessageContaining("stride > 0");
        assertThatThrownBy(() -> new FeatureSpec("m", 4, List.of(8, 0, 7))).hasMessageContaining("> 0");
        assertThatThrownBy(() -> new FeatureSpec(" ", 0, List.of(8))).hasMessageContaining("blank");
        assertThatThrownBy(() -> new FeatureSpec("m", -1, List.of(8, 7, 7))).hasMessageContaining(">= 0");
    }

    @Test
    void shouldRefuseDuplicateOrReservedFeatureNamesInABlock() {
        FeatureBlock.Builder b = FeatureBlock.builder().addTapped(ai.djl.nn.Blocks.identityBlock(), "a");
        assertThatThrownBy(() -> b.addTapped(ai.djl.nn.Blocks.identityBlock(), "a")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.addTapped(ai.djl.nn.Blocks.identityBlock(), FeatureBlock.LOGITS))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
