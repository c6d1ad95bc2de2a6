package io.kdstream.streams;

import io.kdstream.core.config.KdConfig;

import io.kdstream.streams.internals.DeadLetterDeserializationHandler;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.streams.StreamsConfig;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Configuration of the monitor application ({@code kdstream monitor}): one Kafka Streams application running the
 * loss-ratio, failure-count and staleness monitors. Every property that is not defined here (Kafka client and Kafka
 * Streams settings such as {@code security.protocol}, {@code sasl.*}, {@code ssl.*}, {@code state.dir},
 * {@code num.stream.threads}) passes through to Kafka Streams untouched.
 */
public final class MonitorConfig extends AbstractConfig {

    public static final String APPLICATION_ID_CONFIG = StreamsConfig.APPLICATION_ID_CONFIG;
    private static final String APPLICATION_ID_DOC = "Kafka Streams application id of the monitors: the consumer group, "
            + "the prefix of internal topics and the transactional id prefix.";
    public static final String DEFAULT_APPLICATION_ID = "kdstream-monitor";

    // the keys and defaults every service shares come from the shared layer (KdConfig, core/common); the docs here
    // say what each means to the monitors
    public static final String BOOTSTRAP_SERVERS_CONFIG = KdConfig.BOOTSTRAP_SERVERS_CONFIG;
    private static final String BOOTSTRAP_SERVERS_DOC = "Kafka brokers to connect to, host:port[,host:port...].";
    public static final String DEFAULT_BOOTSTRAP_SERVERS = KdConfig.DEFAULT_BOOTSTRAP_SERVERS;

    public static final String SCHEMA_REGISTRY_URL_CONFIG = KdConfig.SCHEMA_REGISTRY_URL_CONFIG;
    private static final String SCHEMA_REGISTRY_URL_DOC = "Schema registry of the Avro records: http(s)://host:port "
            + "(Confluent REST API) or mock://scope (in-process, for tests).";
    public static final String DEFAULT_SCHEMA_REGISTRY_URL = KdConfig.DEFAULT_SCHEMA_REGISTRY_URL;

    public static final String TOPIC_METRICS_CONFIG = KdConfig.TOPIC_METRICS_CONFIG;
    private static final String TOPIC_METRICS_DOC = "Topic of the trainers' TrainingStep records (input).";
    public static final String TOPIC_DLQ_CONFIG = KdConfig.TOPIC_DLQ_CONFIG;
    private static final String TOPIC_DLQ_DOC = "Dead-letter topic of FailureEvent records: input of the failure-count "
            + "monitor, and where the monitor dead-letters records it cannot decode.";
    public static final String TOPIC_MONITORS_CONFIG = KdConfig.TOPIC_MONITORS_CONFIG;
    private static final String TOPIC_MONITORS_DOC = "Topic the MonitorEvent of every closed window is published to.";
    public static final String TOPIC_ALERTS_CONFIG = KdConfig.TOPIC_ALERTS_CONFIG;
    private static final String TOPIC_ALERTS_DOC = "Topic the Alert records are published to.";

    public static final String TOPIC_RUNS_CONFIG = KdConfig.TOPIC_RUNS_CONFIG;
    private static final String TOPIC_RUNS_DOC = "Topic of the trainers' RunManifest records (input): a run's "
            + "FINISHED or FAILED manifest publishes its last windows, and the trainer of a FINISHED run is not "
            + "reported stale.";

    public static final String WINDOW_CLOSE_WHEN_IDLE_CONFIG = "monitor.window.close.when.idle";
    private static final String WINDOW_CLOSE_WHEN_IDLE_DOC = "Whether windows also close in quiet periods: while no "
            + "record arrives, the close time of the loss-ratio and failure-count windows runs on with the wall clock "
            + "from the newest event time, so a window whose end plus grace has passed is published without "
            + "further records. false: windows close only when newer records advance stream time.";
    public static final String WINDOW_CHECK_INTERVAL_MS_CONFIG = "monitor.window.check.interval.ms";
    private static final String WINDOW_CHECK_INTERVAL_MS_DOC = "How often (wall clock) the loss-ratio and "
            + "failure-count monitors check their open windows for quiet-period closes and ended runs. An ended "
            + "run's windows are published once its trainer has been quiet this long.";

    public static final String LOSS_WINDOW_SIZE_MS_CONFIG = "monitor.loss.window.size.ms";
    private static final String LOSS_WINDOW_SIZE_MS_DOC = "Size of the hopping event-time windows of the loss-ratio "
            + "monitor, in milliseconds of TrainingStep.timestampMs.";
    public static final String LOSS_WINDOW_ADVANCE_MS_CONFIG = "monitor.loss.window.advance.ms";
    private static final String LOSS_WINDOW_ADVANCE_MS_DOC = "Advance of the loss-ratio windows in milliseconds; equal "
            + "to the size for tumbling windows. Must not exceed " + LOSS_WINDOW_SIZE_MS_CONFIG + ".";
    public static final String LOSS_WINDOW_GRACE_MS_CONFIG = "monitor.loss.window.grace.ms";
    private static final String LOSS_WINDOW_GRACE_MS_DOC = "How long after a loss-ratio window ends (in event time) "
            + "late steps are still counted into it; later steps are dropped and counted as late.";
    public static final String LOSS_RATIO_BAND_LOW_CONFIG = "monitor.loss.ratio.band.low";
    private static final String LOSS_RATIO_BAND_LOW_DOC = "Lower bound of the healthy band of sum(KD loss) / sum(task "
            + "loss): below it the distillation signal has collapsed. Must be less than "
            + "monitor.loss.ratio.band.high.";
    public static final String LOSS_RATIO_BAND_HIGH_CONFIG = "monitor.loss.ratio.band.high";
    private static final String LOSS_RATIO_BAND_HIGH_DOC = "Upper bound of the healthy band of sum(KD loss) / sum(task "
            + "loss): above it the distillation term drowns the task signal.";
    public static final String LOSS_RATIO_CONSECUTIVE_WINDOWS_CONFIG = "monitor.loss.ratio.consecutive.windows";
    private static final String LOSS_RATIO_CONSECUTIVE_WINDOWS_DOC = "Consecutive closed windows (M) whose ratio lies "
            + "on the same side outside the band before one alert is raised.";
    public static final String LOSS_RATIO_EWMA_ALPHA_CONFIG = "monitor.loss.ratio.ewma.alpha";
    private static final String LOSS_RATIO_EWMA_ALPHA_DOC = "Weight of the newest window in the exponentially "
            + "weighted moving average of the ratio, in (0, 1].";

    public static final String FAILURE_WINDOW_MS_CONFIG = "monitor.failure.window.ms";
    private static final String FAILURE_WINDOW_MS_DOC = "Size of the tumbling event-time windows of the failure-count "
            + "monitor, in milliseconds of FailureEvent.timestampMs.";
    public static final String FAILURE_GRACE_MS_CONFIG = "monitor.failure.grace.ms";
    private static final String FAILURE_GRACE_MS_DOC = "How long after a failure window ends late failures are "
            + "still counted into it.";
    public static final String FAILURE_THRESHOLD_CONFIG = "monitor.failure.threshold";
    private static final String FAILURE_THRESHOLD_DOC = "Failures of one component and kind within one window that "
            + "raise an alert (the alert fires when the count reaches this value, once per window).";

    public static final String STALENESS_THRESHOLD_MS_CONFIG = "monitor.staleness.threshold.ms";
    private static final String STALENESS_THRESHOLD_MS_DOC = "A trainer that sent no TrainingStep for longer than "
            + "this (wall-clock milliseconds, measured at the monitor) is reported stale.";
    public static final String STALENESS_CHECK_INTERVAL_MS_CONFIG = "monitor.staleness.check.interval.ms";
    private static final String STALENESS_CHECK_INTERVAL_MS_DOC = "How often (wall clock) the staleness monitor "
            + "checks its trainers. Must not exceed " + STALENESS_THRESHOLD_MS_CONFIG + ".";

    public static final String HTTP_ENABLED_CONFIG = "monitor.http.enabled";
    private static final String HTTP_ENABLED_DOC = "Whether to serve the interactive-query HTTP endpoint.";
    public static final String HTTP_HOST_CONFIG = "monitor.http.host";
    private static final String HTTP_HOST_DOC = "Address the HTTP endpoint binds to.";
    public static final String HTTP_PORT_CONFIG = "monitor.http.port";
    private static final String HTTP_PORT_DOC = "Port of the HTTP endpoint; 0 picks a free port.";

    private static final ConfigDef CONFIG = new ConfigDef()
            .define(APPLICATION_ID_CONFIG, Type.STRING, DEFAULT_APPLICATION_ID, new ConfigDef.NonEmptyString(),
                    Importance.HIGH, APPLICATION_ID_DOC)
            .define(BOOTSTRAP_SERVERS_CONFIG, Type.LIST, DEFAULT_BOOTSTRAP_SERVERS, new ConfigDef.NonNullValidator(),
                    Importance.HIGH, BOOTSTRAP_SERVERS_DOC)
            .define(SCHEMA_REGISTRY_URL_CONFIG, Type.STRING, DEFAULT_SCHEMA_REGISTRY_URL,
                    new ConfigDef.NonEmptyString(), Importance.HIGH, SCHEMA_REGISTRY_URL_DOC)
            .define(TOPIC_METRICS_CONFIG, Type.STRING, MonitorTopics.DEFAULT_METRICS, new ConfigDef.NonEmptyString(),
                    Importance.MEDIUM, TOPIC_METRICS_DOC)
            .define(TOPIC_DLQ_CONFIG, Type.STRING, MonitorTopics.DEFAULT_DLQ, new ConfigDef.NonEmptyString(),
                    Importance.MEDIUM, TOPIC_DLQ_DOC)
            .define(TOPIC_MONITORS_CONFIG, Type.STRING, MonitorTopics.DEFAULT_MONITORS,
                    new ConfigDef.NonEmptyString(), Importance.MEDIUM, TOPIC_MONITORS_DOC)
            .define(TOPIC_ALERTS_CONFIG, Type.STRING, MonitorTopics.DEFAULT_ALERTS, new ConfigDef.NonEmptyString(),
                    Importance.MEDIUM, TOPIC_ALERTS_DOC)
            .define(TOPIC_RUNS_CONFIG, Type.STRING, MonitorTopics.DEFAULT_RUNS, new ConfigDef.NonEmptyString(),
                    Importance.MEDIUM, TOPIC_RUNS_DOC)
            .define(WINDOW_CLOSE_WHEN_IDLE_CONFIG, Type.BOOLEAN, Thresholds.DEFAULT_CLOSE_WINDOWS_WHEN_IDLE,
                    Importance.MEDIUM, WINDOW_CLOSE_WHEN_IDLE_DOC)
            .define(WINDOW_CHECK_INTERVAL_MS_CONFIG, Type.LONG, Thresholds.DEFAULT_WINDOW_CHECK_INTERVAL.toMillis(),
                    Range.atLeast(1), Importance.LOW, WINDOW_CHECK_INTERVAL_MS_DOC)
            .define(LOSS_WINDOW_SIZE_MS_CONFIG, Type.LONG, Thresholds.DEFAULT_LOSS_WINDOW_SIZE.toMillis(),
                    Range.atLeast(1), Importance.MEDIUM, LOSS_WINDOW_SIZE_MS_DOC)
            .define(LOSS_WINDOW_ADVANCE_MS_CONFIG, Type.LONG, Thresholds.DEFAULT_LOSS_WINDOW_ADVANCE.toMillis(),
                    Range.atLeast(1), Importance.MEDIUM, LOSS_WINDOW_ADVANCE_MS_DOC)
            .define(LOSS_WINDOW_GRACE_MS_CONFIG, Type.LONG, Thresholds.DEFAULT_LOSS_WINDOW_GRACE.toMillis(),
                    Range.atLeast(0), Importance.MEDIUM, LOSS_WINDOW_GRACE_MS_DOC)
            .define(LOSS_RATIO_BAND_LOW_CONFIG, Type.DOUBLE, Thresholds.DEFAULT_BAND_LOW, Range.atLeast(0.0),
                    Importance.HIGH, LOSS_RATIO_BAND_LOW_DOC)
            .define(LOSS_RATIO_BAND_HIGH_CONFIG, Type.DOUBLE, Thresholds.DEFAULT_BAND_HIGH, Range.atLeast(0.0),
                    Importance.HIGH, LOSS_RATIO_BAND_HIGH_DOC)
            .define(LOSS_RATIO_CONSECUTIVE_WINDOWS_CONFIG, Type.INT, Thresholds.DEFAULT_CONSECUTIVE_WINDOWS,
                    Range.atLeast(1), Importance.HIGH, LOSS_RATIO_CONSECUTIVE_WINDOWS_DOC)
            .define(LOSS_RATIO_EWMA_ALPHA_CONFIG, Type.DOUBLE, Thresholds.DEFAULT_EWMA_ALPHA, new AlphaValidator(),
                    Importance.LOW, LOSS_RATIO_EWMA_ALPHA_DOC)
            .define(FAILURE_WINDOW_MS_CONFIG, Type.LONG, Thresholds.DEFAULT_FAILURE_WINDOW.toMillis(),
                    Range.atLeast(1), Importance.MEDIUM, FAILURE_WINDOW_MS_DOC)
            .define(FAILURE_GRACE_MS_CONFIG, Type.LONG, Thresholds.DEFAULT_FAILURE_GRACE.toMillis(),
                    Range.atLeast(0), Importance.LOW, FAILURE_GRACE_MS_DOC)
            .define(FAILURE_THRESHOLD_CONFIG, Type.LONG, Thresholds.DEFAULT_FAILURE_THRESHOLD, Range.atLeast(1),
                    Importance.HIGH, FAILURE_THRESHOLD_DOC)
            .define(STALENESS_THRESHOLD_MS_CONFIG, Type.LONG, Thresholds.DEFAULT_STALENESS_THRESHOLD.toMillis(),
                    Range.atLeast(1), Importance.MEDIUM, STALENESS_THRESHOLD_MS_DOC)
            .define(STALENESS_CHECK_INTERVAL_MS_CONFIG, Type.LONG,
                    Thresholds.DEFAULT_STALENESS_CHECK_INTERVAL.toMillis(), Range.atLeast(1), Importance.LOW,
                    STALENESS_CHECK_INTERVAL_MS_DOC)
            .define(HTTP_ENABLED_CONFIG, Type.BOOLEAN, true, Importance.LOW, HTTP_ENABLED_DOC)
            .define(HTTP_HOST_CONFIG, Type.STRING, "127.0.0.1", new ConfigDef.NonEmptyString(), Importance.LOW,
                    HTTP_HOST_DOC)
            .define(HTTP_PORT_CONFIG, Type.INT, 8090, Range.between(0, 65535), Importance.MEDIUM, HTTP_PORT_DOC);

    public MonitorConfig(Map<?, ?> originals) {
        super(CONFIG, originals, false);
        checkCrossFieldRules();
    }

    /** The definition of every monitor setting; the configuration reference is generated from it. */
    public static ConfigDef configDef() {
        return new ConfigDef(CONFIG);
    }

    /** Accepts a weight in (0, 1]. */
    private static final class AlphaValidator implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            if (!(value instanceof Double alpha) || !(alpha > 0.0 && alpha <= 1.0)) {
                throw new ConfigException(name, value, "must be in (0, 1]");
            }
        }

        @Override
        public String toString() {
            return "(0,...,1]";
        }
    }

    private void checkCrossFieldRules() {
        try {
            topics();
        } catch (IllegalArgumentException e) {
            throw new ConfigException("the topics " + String.join(", ", TOPIC_METRICS_CONFIG, TOPIC_DLQ_CONFIG,
                    TOPIC_RUNS_CONFIG, TOPIC_MONITORS_CONFIG, TOPIC_ALERTS_CONFIG) + " do not fit: "
                    + e.getMessage());
        }
        if (getLong(LOSS_WINDOW_ADVANCE_MS_CONFIG) > getLong(LOSS_WINDOW_SIZE_MS_CONFIG)) {
            throw new ConfigException(LOSS_WINDOW_ADVANCE_MS_CONFIG + " (" + getLong(LOSS_WINDOW_ADVANCE_MS_CONFIG)
                    + ") must not exceed " + LOSS_WINDOW_SIZE_MS_CONFIG + " (" + getLong(LOSS_WINDOW_SIZE_MS_CONFIG)
                    + ")");
        }
        if (getDouble(LOSS_RATIO_BAND_LOW_CONFIG) >= getDouble(LOSS_RATIO_BAND_HIGH_CONFIG)) {
            throw new ConfigException(LOSS_RATIO_BAND_LOW_CONFIG + " (" + getDouble(LOSS_RATIO_BAND_LOW_CONFIG)
                    + ") must be less than " + LOSS_RATIO_BAND_HIGH_CONFIG + " ("
                    + getDouble(LOSS_RATIO_BAND_HIGH_CONFIG) + ")");
        }
        if (getLong(STALENESS_CHECK_INTERVAL_MS_CONFIG) > getLong(STALENESS_THRESHOLD_MS_CONFIG)) {
            throw new ConfigException(STALENESS_CHECK_INTERVAL_MS_CONFIG + " ("
                    + getLong(STALENESS_CHECK_INTERVAL_MS_CONFIG) + ") must not exceed "
                    + STALENESS_THRESHOLD_MS_CONFIG + " (" + getLong(STALENESS_THRESHOLD_MS_CONFIG) + ")");
        }
    }

    /** The topics the monitors read and write. */
    public MonitorTopics topics() {
        return new MonitorTopics(getString(TOPIC_METRICS_CONFIG), getString(TOPIC_DLQ_CONFIG),
                getString(TOPIC_MONITORS_CONFIG), getString(TOPIC_ALERTS_CONFIG), getString(TOPIC_RUNS_CONFIG));
    }

    /** The windows, bands and thresholds of the monitors. */
    public Thresholds thresholds() {
        return Thresholds.builder()
                .optLossWindowSize(Duration.ofMillis(getLong(LOSS_WINDOW_SIZE_MS_CONFIG)))
                .optLossWindowAdvance(Duration.ofMillis(getLong(LOSS_WINDOW_ADVANCE_MS_CONFIG)))
                .optLossWindowGrace(Duration.ofMillis(getLong(LOSS_WINDOW_GRACE_MS_CONFIG)))
                .optBand(getDouble(LOSS_RATIO_BAND_LOW_CONFIG), getDouble(LOSS_RATIO_BAND_HIGH_CONFIG))
                .optConsecutiveWindows(getInt(LOSS_RATIO_CONSECUTIVE_WINDOWS_CONFIG))
                .optEwmaAlpha(getDouble(LOSS_RATIO_EWMA_ALPHA_CONFIG))
                .optFailureWindow(Duration.ofMillis(getLong(FAILURE_WINDOW_MS_CONFIG)))
                .optFailureGrace(Duration.ofMillis(getLong(FAILURE_GRACE_MS_CONFIG)))
                .optFailureThreshold(getLong(FAILURE_THRESHOLD_CONFIG))
                .optStalenessThreshold(Duration.ofMillis(getLong(STALENESS_THRESHOLD_MS_CONFIG)))
                .optStalenessCheckInterval(Duration.ofMillis(getLong(STALENESS_CHECK_INTERVAL_MS_CONFIG)))
                .optCloseWindowsWhenIdle(getBoolean(WINDOW_CLOSE_WHEN_IDLE_CONFIG))
                .optWindowCheckInterval(Duration.ofMillis(getLong(WINDOW_CHECK_INTERVAL_MS_CONFIG)))
                .build();
    }

    /** Whether the HTTP endpoint is served. */
    public boolean httpEnabled() {
        return getBoolean(HTTP_ENABLED_CONFIG);
    }

    /** Address the HTTP endpoint binds to. */
    public String httpHost() {
        return getString(HTTP_HOST_CONFIG);
    }

    /** Port of the HTTP endpoint, 0 for a free one. */
    public int httpPort() {
        return getInt(HTTP_PORT_CONFIG);
    }

    /** Settings of the Avro serdes: the registry URL and every other original property (auth settings pass on). */
    public Map<String, Object> serdeConfig() {
        Map<String, Object> serde = new HashMap<>();
        originals().forEach(serde::put);
        serde.put(SCHEMA_REGISTRY_URL_CONFIG, getString(SCHEMA_REGISTRY_URL_CONFIG));
        return serde;
    }

    /**
     * The Kafka Streams properties: every original property passes through, then the application id, the brokers,
     * {@code processing.guarantee=exactly_once_v2} unless set explicitly, and the dead-letter deserialization handler.
     */
    public Properties streamsProperties() {
        Properties props = new Properties();
        originals().forEach((k, v) -> {
            if (v != null) {
                props.put(k, v);
            }
        });
        props.put(SCHEMA_REGISTRY_URL_CONFIG, getString(SCHEMA_REGISTRY_URL_CONFIG));
        props.put(TOPIC_DLQ_CONFIG, getString(TOPIC_DLQ_CONFIG));
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, getString(APPLICATION_ID_CONFIG));
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, String.join(",", getList(BOOTSTRAP_SERVERS_CONFIG)));
        props.putIfAbsent(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG,
                DeadLetterDeserializationHandler.class.getName());
        return props;
    }

    /** Names of the properties this class defines (everything else passes through). */
    public static List<String> definedNames() {
        return List.copyOf(CONFIG.names());
    }
}
