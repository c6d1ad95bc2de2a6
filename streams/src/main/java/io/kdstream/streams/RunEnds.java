package io.kdstream.streams;

import io.kdstream.streams.internals.RunStateUpdater;
import io.kdstream.streams.internals.StateBytes;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.state.Stores;

/**
 * The runs that ended, from the trainers' RunManifest records: a global store (every task of the monitor reads it)
 * of run id to how and when the run ended. The loss-ratio monitor publishes an ended run's last windows from it, and
 * the staleness monitor does not report the trainer of a finished run.
 */
public final class RunEnds {

    /** Global store of ended runs (run id to status and end time). */
    public static final String STORE = "run-ends";

    private RunEnds() {
    }

    /** Adds the global store, fed by the runs topic. */
    public static void build(StreamsBuilder builder, MonitorTopics topics, MonitorSerdes serdes) {
        builder.addGlobalStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STORE), Serdes.String(),
                                StateBytes.runEnd()).withLoggingDisabled(),
                topics.runs(),
                Consumed.with(Serdes.String(), Serdes.ByteArray()).withName("runs-source"),
                () -> new RunStateUpdater(STORE, topics.runs(), serdes.runManifest().deserializer()));
    }
}
