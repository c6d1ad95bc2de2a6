package io.kdstream.ops.cli;

import io.kdstream.ops.observe.Observability;
import io.kdstream.ops.observe.ObservabilityConfig;
import io.kdstream.ops.observe.ObservabilityServer;
import io.kdstream.trainer.TrainerConfig;

import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MetricsOptionsTest {

    private static MetricsOptions parse(String... args) {
        TeacherCommand.Serve serve = new TeacherCommand.Serve();
        new CommandLine(serve).parseArgs(args);
        return serve.metrics;
    }

    @Test
    void shouldServeNothingUnlessAPortIsSetAndBindLoopbackByDefault() {
        ObservabilityConfig config = parse().config(Map.of());

        assertThat(config.port()).isEmpty();
        assertThat(config.host()).isEqualTo("127.0.0.1");
        assertThat(MetricsOptions.start(config, null, List.of(), List.of(), new PrintWriter(new StringWriter()))).isNull();
    }

    @Test
    void shouldLetTheFlagsWinOverTheFileAndTheEnvironment() {
        Map<String, Object> base = Map.of(ObservabilityConfig.METRICS_PORT_CONFIG, "9404",
                ObservabilityConfig.METRICS_HOST_CONFIG, "0.0.0.0");

        assertThat(parse().config(base).port()).hasValue(9404);
        assertThat(parse().config(base).host()).isEqualTo("0.0.0.0");
        ObservabilityConfig flags = parse("--metrics-port", "0", "--metrics-host", "127.0.0.1").config(base);
        assertThat(flags.port()).hasValue(0);
        assertThat(flags.host()).isEqualTo("127.0.0.1");
    }

    @Test
    void shouldRefuseAPortOutOfRange() {
        assertThatThrownBy(() -> parse("--metrics-port", "70000").config(Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("metrics.port");
    }

    @Test
    void shouldStartOnAFreePortForZeroAndPrintWhereItListens() {
        StringWriter printed = new StringWriter();
        try (Observability observability = Observability.forService("t");
             ObservabilityServer server = MetricsOptions.start(parse("--metrics-port", "0").config(Map.of()),
                     observability, List.of(), List.of(), new PrintWriter(printed))) {
            assertThat(server.port()).isPositive();
            assertThat(server.address().getAddress().isLoopbackAddress()).isTrue();
            assertThat(printed.toString()).contains("http://127.0.0.1:" + server.port() + "/metrics")
                    .contains("/health/live").contains("/health/ready");
        }
    }

    @Test
    void shouldGiveEveryLongRunningCommandTheMetricsOptions() {
        for (Object command : List.of(new TeacherCommand.Serve(), new TrainCommand(), new MonitorCommand(), new UpCommand())) {
            CommandLine cli = new CommandLine(command);
            assertThat(cli.getCommandSpec().findOption("--metrics-port")).as("%s", cli.getCommandName()).isNotNull();
            assertThat(cli.getCommandSpec().findOption("--metrics-host")).as("%s", cli.getCommandName()).isNotNull();
        }
    }

    @Test
    void shouldNameTheTrainerAfterTheHostUnlessTrainerIdIsSet() {
        Map<String, Object> unset = TrainCommand.withTrainerId(new HashMap<>(), "trainer-7f3a");
        Map<String, Object> set = TrainCommand.withTrainerId(new HashMap<>(Map.of(TrainerConfig.TRAINER_ID_CONFIG, "kd-1")),
                "trainer-7f3a");

        assertThat(unset).containsEntry(TrainerConfig.TRAINER_ID_CONFIG, "trainer-7f3a");
        assertThat(set).containsEntry(TrainerConfig.TRAINER_ID_CONFIG, "kd-1");
        assertThat(TrainCommand.withTrainerId(new HashMap<>(), null)).doesNotContainKey(TrainerConfig.TRAINER_ID_CONFIG);
    }

    @Test
    void shouldCallTheMonitorReadyWhileStreamsRunsAndDeadOnlyAfterItFailed() {
        assertThat(MonitorCommand.ready(KafkaStreams.State.RUNNING)).isTrue();
        assertThat(MonitorCommand.ready(KafkaStreams.State.REBALANCING)).isTrue();
        assertThat(MonitorCommand.ready(KafkaStreams.State.CREATED)).isFalse();
        assertThat(MonitorCommand.ready(KafkaStreams.State.ERROR)).isFalse();
        assertThat(MonitorCommand.live(KafkaStreams.State.REBALANCING)).isTrue();
        assertThat(MonitorCommand.live(KafkaStreams.State.PENDING_ERROR)).isFalse();
        assertThat(MonitorCommand.live(KafkaStreams.State.ERROR)).isFalse();
    }
}
