package io.kdstream.streams;

import io.kdstream.avro.TrainingStep;

import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.KStream;

/**
 * The monitor application's topology: the loss-ratio, staleness and failure-count monitors in one, and the global
 * store of ended runs that the first two read.
 */
public final class MonitorTopology {

    private MonitorTopology() {
    }

    /** Builds the topology of all monitors. */
    public static Topology build(MonitorTopics topics, Thresholds thresholds, MonitorSerdes serdes) {
        StreamsBuilder builder = new StreamsBuilder();
        RunEnds.build(builder, topics, serdes);
        KStream<String, TrainingStep> steps = LossRatioMonitor.metrics(builder, topics, serdes);
        LossRatioMonitor.build(builder, steps, topics, thresholds, serdes, RunEnds.STORE);
        StalenessMonitor.build(builder, steps, topics, thresholds, serdes, RunEnds.STORE);
        FailureCountMonitor.build(builder, topics, thresholds, serdes);
        return builder.build();
    }
}
