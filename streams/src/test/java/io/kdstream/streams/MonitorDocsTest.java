package io.kdstream.streams;

import org.apache.kafka.common.config.ConfigDef;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** docs/monitors.md lists every monitor setting with its default, so the page cannot drift from MonitorConfig. */
class MonitorDocsTest {

    @Test
    void shouldDocumentEverySettingWithItsDefault() throws IOException {
        Path docs = Path.of("..", "docs", "monitors.md");
        String page = Files.readString(docs);
        for (ConfigDef.ConfigKey key : MonitorConfig.configDef().configKeys().values()) {
            String defaultValue = key.defaultValue instanceof java.util.List<?> list
                    ? String.join(",", list.stream().map(String::valueOf).toList())
                    : String.valueOf(key.defaultValue);
            assertThat(page).as("row of " + key.name)
                    .containsPattern("\\| `" + java.util.regex.Pattern.quote(key.name) + "` \\| `?"
                            + java.util.regex.Pattern.quote(defaultValue) + "`? \\|");
        }
    }
}
