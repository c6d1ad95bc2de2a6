package io.kdstream.streams;

import io.kdstream.streams.internals.DeadLetterDeserializationHandler;

import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MonitorConfigTest {

    @Test
    void shouldDefaultToExactlyOnceTheSharedTopicNamesAndLoopbackHttp() {
        MonitorConfig config = new MonitorConfig(Map.of());
        Properties props = config.streamsProperties();

        assertThat(props).containsEntry(StreamsConfig.APPLICATION_ID_CONFIG, "kdstream-monitor")
                .containsEntry(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2)
                .containsEntry(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG,
                        DeadLetterDeserializationHandler.class.getName())
                .containsEntry(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:9092");
        assertThat(config.topics()).isEqualTo(new MonitorTopics("kd.metrics", "kd.dlq", "kd.monitors", "kd.alerts"));
        assertThat(config.httpHost()).isEqualTo("127.0.0.1");
        assertThat(config.thresholds()).isEqualTo(Thresholds.defaults());
        assertThat(config.thresholds().failureThreshold()).isEqualTo(10);
        assertThat(config.topics().runs()).isEqualTo("kd.runs");
        assertThat(config.thresholds().closeWindowsWhenIdle()).isTrue();
        assertThat(config.thresholds().windowCheckInterval()).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void shouldReadTheRunsTopicAndTheWindowClosingSettings() {
        MonitorConfig config = new MonitorConfig(Map.of(
                MonitorConfig.TOPIC_RUNS_CONFIG, "my.runs",
                MonitorConfig.WINDOW_CLOSE_WHEN_IDLE_CONFIG, "false",
                MonitorConfig.WINDOW_CHECK_INTERVAL_MS_CONFIG, "250"));

        assertThat(config.topics().runs()).isEqualTo("my.runs");
        assertThat(config.thresholds().closeWindowsWhenIdle()).isFalse();
        assertThat(config.thresholds().windowCheckInterval()).isEqualTo(Duration.ofMillis(250));
        assertThatThrownBy(() -> new MonitorConfig(Map.of(MonitorConfig.TOPIC_RUNS_CONFIG, "kd.monitors")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("kd.monitors")
                .hasMessageContaining(MonitorConfig.TOPIC_RUNS_CONFIG);
        assertThatThrownBy(() -> new MonitorConfig(Map.of(MonitorConfig.WINDOW_CHECK_INTERVAL_MS_CONFIG, "0")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(MonitorConfig.WINDOW_CHECK_INTERVAL_MS_CONFIG);
    }

    @Test
    void shouldPassClientSettingsThroughAndReadThresholds() {
        MonitorConfig config = new MonitorConfig(Map.of(
                "security.protocol", "SASL_SSL",
                "num.stream.threads", "2",
                MonitorConfig.TOPIC_DLQ_CONFIG, "my.dlq",
                MonitorConfig.LOSS_WINDOW_SIZE_MS_CONFIG, "20000",
                MonitorConfig.LOSS_WINDOW_ADVANCE_MS_CONFIG, "5000",
                MonitorConfig.LOSS_RATIO_CONSECUTIVE_WINDOWS_CONFIG, "4",
                MonitorConfig.HTTP_PORT_CONFIG, "0"));

        assertThat(config.streamsProperties()).containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("num.stream.threads", "2")
                .containsEntry(MonitorConfig.TOPIC_DLQ_CONFIG, "my.dlq");
        assertThat(config.thresholds().lossWindowSize()).isEqualTo(Duration.ofSeconds(20));
        assertThat(config.thresholds().lossWindowAdvance()).isEqualTo(Duration.ofSeconds(5));
        assertThat(config.thresholds().consecutiveWindows()).isEqualTo(4);
        assertThat(config.topics().dlq()).isEqualTo("my.dlq");
        assertThat(config.httpPort()).isZero();
    }

    @Test
    void shouldNameBothKeysWhenTheAdvanceExceedsTheWindow() {
        assertThatThrownBy(() -> new MonitorConfig(Map.of(
                MonitorConfig.LOSS_WINDOW_SIZE_MS_CONFIG, "1000",
                MonitorConfig.LOSS_WINDOW_ADVANCE_MS_CONFIG, "2000")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(MonitorConfig.LOSS_WINDOW_SIZE_MS_CONFIG)
                .hasMessageContaining(MonitorConfig.LOSS_WINDOW_ADVANCE_MS_CONFIG);
    }

    @Test
    void shouldNameBothKeysWhenTheBandIsEmpty() {
        assertThatThrownBy(() -> new MonitorConfig(Map.of(
                MonitorConfig.LOSS_RATIO_BAND_LOW_CONFIG, "2.0",
                MonitorConfig.LOSS_RATIO_BAND_HIGH_CONFIG, "1.0")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(MonitorConfig.LOSS_RATIO_BAND_LOW_CONFIG)
                .hasMessageContaining(MonitorConfig.LOSS_RATIO_BAND_HIGH_CONFIG);
    }

    @Test
    void shouldRejectAnEwmaWeightOutsideZeroToOne() {
        assertThatThrownBy(() -> new MonitorConfig(Map.of(MonitorConfig.LOSS_RATIO_EWMA_ALPHA_CONFIG, "0")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(MonitorConfig.LOSS_RATIO_EWMA_ALPHA_CONFIG);
    }

    @Test
    void shouldRejectAPortOutOfRange() {
        assertThatThrownBy(() -> new MonitorConfig(Map.of(MonitorConfig.HTTP_PORT_CONFIG, "70000")))
                .isInstanceOf(ConfigException.class);
    }
}
