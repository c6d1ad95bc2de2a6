package io.kdstream.trainer.state;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class TrainingSettingsFileTest {

    @Test
    void shouldNameTheSettingsThatDifferFromTheCheckpoints(@TempDir Path dir) {
        TrainingSettingsFile.write(dir, Map.of("kd.temperature", "4", "kd.alpha", "0.7", "trainer.seed", "42",
                "trainer.grad.clip.norm", "1.0"));

        String message = TrainingSettingsFile.mismatch(dir, Map.of("kd.temperature", "2", "kd.alpha", "0.7",
                "trainer.seed", "42", "trainer.label.fraction", "0.05"), "aaa", "bbb");

        assertThat(message)
                .contains("kd.temperature: 4 then, 2 now")
                .contains("trainer.grad.clip.norm: 1.0 then, its default now")
                .contains("trainer.label.fraction: its default then, 0.05 now")
                .doesNotContain("kd.alpha:", "trainer.seed:")
                .endsWith("Resume with the same trainer.* and kd.* settings, or use another trainer.checkpoint.dir.");
        assertThat(TrainingSettingsFile.read(dir)).containsEntry("kd.temperature", "4").hasSize(4);
    }

    @Test
    void shouldNameTheChangedDefaultsForACheckpointThatDoesNotRecordItsSettings(@TempDir Path dir) {
        String message = TrainingSettingsFile.mismatch(dir, Map.of("kd.temperature", "2"), "aaa", "bbb");

        assertThat(TrainingSettingsFile.read(dir)).isNull();
        assertThat(message).contains("hash aaa, now bbb")
                .contains("-s kd.temperature=4 -s kd.alpha=0.7");
    }

    @Test
    void shouldKeepValuesWithEqualsSignsAndSkipTheComment(@TempDir Path dir) {
        TrainingSettingsFile.write(dir, Map.of("trainer.learning.rate", "linear:0.002:0.00002:2814", "x", "a=b"));

        assertThat(TrainingSettingsFile.read(dir)).containsExactlyInAnyOrderEntriesOf(
                Map.of("trainer.learning.rate", "linear:0.002:0.00002:2814", "x", "a=b"));
    }
}
