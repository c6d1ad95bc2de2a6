package io.kdstream.ops.observe;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;

import java.util.Map;
import java.util.OptionalInt;

/**
 * Where a long-running command ({@code teacher serve}, {@code train}, {@code monitor}, {@code up}) serves its
 * {@link ObservabilityServer}: {@code metrics.port} and {@code metrics.host}. Unset port: no server; 0: a free port.
 */
public final class ObservabilityConfig extends AbstractConfig {

    public static final String METRICS_PORT_CONFIG = "metrics.port";
    private static final String METRICS_PORT_DOC = "Port of the metrics and health server (GET /metrics in the Prometheus "
            + "text format, /health/live, /health/ready) of 'teacher serve', 'train', 'monitor' and 'up'. Unset: no "
            + "server; 0: a free port, printed at start-up. The container images set 9404.";
    public static final String METRICS_HOST_CONFIG = "metrics.host";
    private static final String METRICS_HOST_DOC = "Address the metrics and health server binds to. Loopback by default; "
            + "0.0.0.0 in a container whose port is scraped from outside.";
    public static final String DEFAULT_HOST = "127.0.0.1";

    private static final ConfigDef CONFIG = new ConfigDef()
            .define(METRICS_PORT_CONFIG, Type.INT, null, new OptionalPort(), Importance.MEDIUM,
                    METRICS_PORT_DOC)
            .define(METRICS_HOST_CONFIG, Type.STRING, DEFAULT_HOST, new ConfigDef.NonEmptyString(), Importance.LOW,
                    METRICS_HOST_DOC);

    public ObservabilityConfig(Map<?, ?> props) {
        super(CONFIG, props, false);
    }

    /** The definition (for the configuration reference). */
    public static ConfigDef configDef() {
        return new ConfigDef(CONFIG);
    }

    /** Unset, or a port in [0, 65535]. */
    private static final class OptionalPort implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            if (value != null && ((Integer) value < 0 || (Integer) value > 65_535)) {
                throw new ConfigException(name, value, "a port is 0 (a free one) or 1..65535; leave it unset for no server");
            }
        }

        @Override
        public String toString() {
            return "unset, or [0,...,65535]";
        }
    }

    /** The port to serve on (0: a free one), or empty when no server is wanted. */
    public OptionalInt port() {
        Integer p = getInt(METRICS_PORT_CONFIG);
        return p == null ? OptionalInt.empty() : OptionalInt.of(p);
    }

    public String host() {
        return getString(METRICS_HOST_CONFIG);
    }
}
