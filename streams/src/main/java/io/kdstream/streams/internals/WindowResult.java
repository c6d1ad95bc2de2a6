package io.kdstream.streams.internals;

/**
 * The aggregate of one event-time window after a record was added to it ({@code closed} false), or once when the
 * window closes ({@code closed} true).
 *
 * @param value  the window's aggregate
 * @param closed whether the window has just closed (it receives nothing more and is published now)
 * @param <A>    aggregate type
 */
public record WindowResult<A>(A value, boolean closed) {
}
