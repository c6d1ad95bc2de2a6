package io.kdstream.streams.internals;

import io.kdstream.avro.Alert;
import io.kdstream.avro.MonitorEvent;

/**
 * One output of a monitor processor: a window's MonitorEvent or an Alert (exactly one of them is set), so one
 * processor can feed both output topics.
 *
 * @param event the closed window, or null
 * @param alert the alert, or null
 */
public record Emission(MonitorEvent event, Alert alert) {

    public Emission {
        if ((event == null) == (alert == null)) {
            throw new IllegalArgumentException("exactly one of event and alert must be set");
        }
    }

    public static Emission of(MonitorEvent event) {
        return new Emission(event, null);
    }

    public static Emission of(Alert alert) {
        return new Emission(null, alert);
    }

    public boolean isEvent() {
        return event != null;
    }

    public boolean isAlert() {
        return alert != null;
    }
}
