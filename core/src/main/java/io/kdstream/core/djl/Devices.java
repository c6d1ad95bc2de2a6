package io.kdstream.core.djl;

import io.kdstream.core.KdException;

import ai.djl.Device;
import ai.djl.engine.Engine;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The device setting {@code auto | cpu | gpu:N} and its resolution to a DJL {@link Device}. {@code auto} picks GPU 0
 * when the engine sees one and the CPU otherwise; {@code gpu:N} fails with an actionable message when GPU N is not
 * there (e.g. the CPU natives are on the class path: build with {@code -Pgpu}).
 */
public final class Devices {

    private static final Pattern GPU = Pattern.compile("gpu:(\\d{1,4})");

    private Devices() {
    }

    /** A parsed device setting. {@code gpuId} is -1 unless {@code kind} is GPU. */
    public record DeviceSpec(Kind kind, int gpuId) {
        public DeviceSpec {
            if (kind == null) {
                throw new IllegalArgumentException("kind is null");
            }
            if ((kind == Kind.GPU) != (gpuId >= 0)) {
                throw new IllegalArgumentException("gpuId " + gpuId + " does not fit kind " + kind);
            }
        }

        @Override
        public String toString() {
            return kind == Kind.GPU ? "gpu:" + gpuId : kind.name().toLowerCase(Locale.ROOT);
        }
    }

    /** What the setting asks for. */
    public enum Kind { AUTO, CPU, GPU }

    /**
     * @throws IllegalArgumentException when {@code spec} is not {@code auto}, {@code cpu} or {@code gpu:N}
     */
    public static DeviceSpec parse(String spec) {
        String s = spec == null ? "" : spec.trim().toLowerCase(Locale.ROOT);
        if (s.equals("auto")) {
            return new DeviceSpec(Kind.AUTO, -1);
        }
        if (s.equals("cpu")) {
            return new DeviceSpec(Kind.CPU, -1);
        }
        Matcher m = GPU.matcher(s);
        if (m.matches()) {
            return new DeviceSpec(Kind.GPU, Integer.parseInt(m.group(1)));
        }
        throw new IllegalArgumentException("device must be auto, cpu or gpu:N, got '" + spec + "'");
    }

    /** Resolves the setting against the default engine. */
    public static Device resolve(String spec) {
        DeviceSpec parsed = parse(spec);
        return resolve(parsed, parsed.kind() == Kind.CPU ? 0 : Engine.getInstance().getGpuCount());
    }

    /**
     * Resolves the setting given how many GPUs the engine sees.
     *
     * @throws KdException when a GPU is asked for that does not exist
     */
    public static Device resolve(DeviceSpec spec, int gpuCount) {
        return switch (spec.kind()) {
            case CPU -> Device.cpu();
            case AUTO -> gpuCount > 0 ? Device.gpu(0) : Device.cpu();
            case GPU -> {
                if (spec.gpuId() >= gpuCount) {
                    throw new KdException("Device " + spec + " asked for, but the engine sees " + gpuCount
                            + " GPU(s). Use cpu or auto, or build with the CUDA natives (mvn -Pgpu) on a machine with a GPU.");
                }
                yield Device.gpu(spec.gpuId());
            }
        };
    }

    /** A {@link ConfigDef.Validator} for device settings. */
    public static ConfigDef.Validator validator() {
        return new ConfigDef.Validator() {
            @Override
            public void ensureValid(String name, Object value) {
                try {
                    parse(value == null ? null : value.toString());
                } catch (IllegalArgumentException e) {
                    throw new ConfigException(name, value, e.getMessage());
                }
            }

            @Override
            public String toString() {
                return "auto | cpu | gpu:N";
            }
        };
    }
}
