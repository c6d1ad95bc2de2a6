package io.kdstream.core.djl;

import io.kdstream.core.KdException;

import ai.djl.Device;

import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DevicesTest {

    @Test
    void shouldParseAutoCpuAndGpuN() {
        assertThat(Devices.parse("auto")).isEqualTo(new Devices.DeviceSpec(Devices.Kind.AUTO, -1));
        assertThat(Devices.parse(" CPU ")).isEqualTo(new Devices.DeviceSpec(Devices.Kind.CPU, -1));
        assertThat(Devices.parse("gpu:3")).isEqualTo(new Devices.DeviceSpec(Devices.Kind.GPU, 3));
        assertThat(Devices.parse("gpu:3")).hasToString("gpu:3");
    }

    @Test
    void shouldRejectMalformedDeviceSettings() {
        for (String bad : new String[] {"", "gpu", "gpu:-1", "tpu:0", "gpu:x", null}) {
            assertThatThrownBy(() -> Devices.parse(bad)).as(String.valueOf(bad)).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> Devices.validator().ensureValid("teacher.device", "gpu"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("teacher.device");
    }

    @Test
    void shouldPickTheFirstGpuForAutoOnlyWhenOneIsThere() {
        assertThat(Devices.resolve(Devices.parse("auto"), 0)).isEqualTo(Device.cpu());
        assertThat(Devices.resolve(Devices.parse("auto"), 2)).isEqualTo(Device.gpu(0));
        assertThat(Devices.resolve(Devices.parse("cpu"), 2)).isEqualTo(Device.cpu());
        assertThat(Devices.resolve(Devices.parse("gpu:1"), 2)).isEqualTo(Device.gpu(1));
    }

    @Test
    void shouldFailWithAnActionableMessageWhenTheGpuIsMissing() {
        assertThatThrownBy(() -> Devices.resolve(Devices.parse("gpu:1"), 1))
                .isInstanceOf(KdException.class)
                .hasMessageContaining("gpu:1")
                .hasMessageContaining("-Pgpu");
    }
}
