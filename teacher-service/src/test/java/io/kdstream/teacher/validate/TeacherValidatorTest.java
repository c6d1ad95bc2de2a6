package io.kdstream.teacher.validate;

import io.kdstream.core.data.FashionMnist;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.TeacherLoader;

import ai.djl.Device;

import org.junit.jupiter.api.Test;

import java.net.URISyntaxException;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TeacherValidatorTest {

    @Test
    void shouldRefuseAnUntrainedTeacherBelowTheFloorAndAcceptItAtAZeroFloor() throws URISyntaxException {
        FashionMnist test = FashionMnist.load(FashionMnist.DEFAULT_DIR, FashionMnist.Split.TEST);
        Path pt = Path.of(getClass().getResource("/torchscript/tiny_teacher.pt").toURI());
        try (Teacher untrained = TeacherLoader.load(pt, Device.cpu())) {
            ValidationResult strict = TeacherValidator.validate(untrained, test, 0.9);
            ValidationResult lax = TeacherValidator.validate(untrained, test, 0.0);

            assertThat(strict.examples()).isEqualTo(10_000);
            assertThat(strict.accuracy()).isLessThan(0.3);
            assertThat(strict.passed()).isFalse();
            assertThat(lax.accuracy()).isEqualTo(strict.accuracy());
            assertThat(lax.passed()).isTrue();
        }
    }

    @Test
    void shouldRejectAccuracyAndFloorOutsideTheUnitInterval() {
        assertThatThrownBy(() -> new ValidationResult(1.2, 10, 0.5)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ValidationResult(0.5, 10, -0.1)).isInstanceOf(IllegalArgumentException.class);
    }
}
