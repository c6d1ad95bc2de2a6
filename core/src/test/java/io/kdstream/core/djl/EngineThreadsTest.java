package io.kdstream.core.djl;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EngineThreadsTest {
    private String saved;

    @BeforeEach
    void save() {
        saved = System.getProperty(EngineThreads.PROPERTY);
    }

    @AfterEach
    void restore() {
        if (saved == null) {
            System.clearProperty(EngineThreads.PROPERTY);
        } else {
            System.setProperty(EngineThreads.PROPERTY, saved);
        }
    }

    @Test
    void shouldPinTheThreadCountToTheProcessorsWhenUnset() {
        System.clearProperty(EngineThreads.PROPERTY);
        int n = EngineThreads.pin();
        assertThat(n).isEqualTo(Runtime.getRuntime().availableProcessors());
        assertThat(System.getProperty(EngineThreads.PROPERTY)).isEqualTo(Integer.toString(n));
    }

    @Test
    void shouldKeepAThreadCountTheUserSet() {
        System.setProperty(EngineThreads.PROPERTY, "3");
        assertThat(EngineThreads.pin()).isEqualTo(3);
        assertThat(System.getProperty(EngineThreads.PROPERTY)).isEqualTo("3");
    }

    @Test
    void shouldRefuseAThreadCountThatIsNotANumber() {
        System.setProperty(EngineThreads.PROPERTY, "many");
        assertThatThrownBy(EngineThreads::pin).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("many");
    }
}
