package io.kdstream.ops.demo;

import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.ops.admin.TopicAdmin;
import io.kdstream.streams.MonitorApp;
import io.kdstream.streams.MonitorConfig;

import org.apache.kafka.streams.StreamsConfig;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Phase 2: creates the topic catalog, then starts the monitors (Kafka Streams) early, so they are running when the
 * first training step arrives.
 */
final class TopicsPhase {

    static final String MONITOR_APP_ID = "kdstream-demo-monitor";

    private final DemoContext ctx;
    private final StackPhase.Output stack;

    TopicsPhase(DemoContext ctx, StackPhase.Output stack) {
        this.ctx = ctx;
        this.stack = stack;
    }

    /** Creates the topics, then hands {@code done} the line that ends the phase (before the admin client closes). */
    void createTopics(Consumer<String> done) {
        KdConfig config = stack.config();
        try (TopicAdmin admin = new TopicAdmin(KafkaClients.admin(config), Duration.ofSeconds(30), true)) {
            TopicAdmin.CreateReport created = admin.ensureTopics(TopicAdmin.catalog(config));
            done.accept(created.created().size() + " topics, " + ctx.settings().plan().partitions() + " partitions each");
        }
    }

    /** Starts the monitors; returns their configuration (the report shows its thresholds). */
    MonitorConfig startMonitors() {
        MonitorConfig monitorConfig = new MonitorConfig(monitorSettings(stack.connection(), ctx.settings().plan(), ctx.settings().dataDir()));
        MonitorApp monitors = MonitorApp.start(monitorConfig);
        ctx.open("monitors", monitors);
        ctx.runningMonitors(monitors);
        if (ctx.settings().observability() != null) {
            ctx.settings().observability().bind(monitors.streams());
        }
        return monitorConfig;
    }

    /** The monitors' settings: the plan's loss windows, state under the data directory, no HTTP server. */
    static Map<String, Object> monitorSettings(Map<String, Object> connection, DemoPlan plan, Path dataDir) {
        Map<String, Object> monitorProps = new HashMap<>(connection);
        monitorProps.put(MonitorConfig.APPLICATION_ID_CONFIG, MONITOR_APP_ID);
        monitorProps.put(MonitorConfig.HTTP_ENABLED_CONFIG, false);
        monitorProps.put(StreamsConfig.STATE_DIR_CONFIG, dataDir.resolve("monitor-state").toString());
        monitorProps.put(MonitorConfig.LOSS_WINDOW_SIZE_MS_CONFIG, plan.lossWindow().toMillis());
        monitorProps.put(MonitorConfig.LOSS_WINDOW_ADVANCE_MS_CONFIG, plan.lossAdvance().toMillis());
        monitorProps.put(MonitorConfig.LOSS_WINDOW_GRACE_MS_CONFIG, plan.lossGrace().toMillis());
        // a trainer that finished before the others is not a stale one
        monitorProps.put(MonitorConfig.STALENESS_THRESHOLD_MS_CONFIG, Duration.ofMinutes(30).toMillis());
        return monitorProps;
    }
}
