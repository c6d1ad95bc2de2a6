package io.kdstream.streams.internals;

import org.apache.kafka.streams.kstream.Window;

/** A half-open event-time window {@code [start, end)} of the monitors' own windowing. */
public final class EventWindow extends Window {

    public EventWindow(long startMs, long endMs) {
        super(startMs, endMs);
        if (endMs <= startMs) {
            throw new IllegalArgumentException("window end " + endMs + " must be after its start " + startMs);
        }
    }

    @Override
    public boolean overlap(Window other) {
        return start() < other.end() && other.start() < end();
    }
}
