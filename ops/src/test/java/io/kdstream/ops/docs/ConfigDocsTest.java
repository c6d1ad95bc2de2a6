package io.kdstream.ops.docs;

import io.kdstream.trainer.TrainerConfig;

import org.apache.kafka.common.config.ConfigDef;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class ConfigDocsTest {

    /** The committed reference, relative to the ops module (the tests' working directory). */
    private static final Path COMMITTED = Path.of("..", "docs", "configuration.md");

    @Test
    void shouldMatchTheCommittedReference() throws Exception {
        assertThat(COMMITTED).exists();

        String committed = Files.readString(COMMITTED, StandardCharsets.UTF_8);

        assertThat(committed)
                .as("docs/configuration.md is out of date with the ConfigDefs; regenerate it with "
                        + "'./kdstream config docs --out docs/configuration.md' and commit it")
                .isEqualTo(ConfigDocs.markdown());
    }

    @Test
    void shouldListEveryKeyOfEveryComponentExactlyOnce() {
        String md = ConfigDocs.markdown();

        for (ConfigDocs.Section s : ConfigDocs.sections()) {
            for (String key : s.def().names()) {
                assertThat(md.split("\\| `" + java.util.regex.Pattern.quote(key) + "` \\|", -1))
                        .as("rows of %s", key).hasSize(2);
            }
        }
    }

    @Test
    void shouldShowTypeDefaultValidatorAndDocOfAKey() {
        String md = ConfigDocs.markdown();

        Object temperature = TrainerConfig.configDef().defaultValues().get(TrainerConfig.KD_TEMPERATURE_CONFIG);
        assertThat(md).contains("| `" + TrainerConfig.KD_TEMPERATURE_CONFIG + "` | string | `" + temperature + "` | constant:V");
    }

    @Test
    void shouldEscapeTableSyntaxInCells() {
        assertThat(ConfigDocs.cell("a|b\nc")).isEqualTo("a\\|b c");
    }

    @Test
    void shouldMarkKeysWithoutDefaultAsRequired() {
        ConfigDef def = new ConfigDef().define("x.y", ConfigDef.Type.STRING, ConfigDef.Importance.HIGH, "doc");

        assertThat(ConfigDocs.defaultValue(def.configKeys().get("x.y"))).isEqualTo("(required)");
    }
}
