package io.kdstream.streams;

import io.kdstream.avro.TrainingStep;

import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.KStream;

/** The monitor application's topology: the loss-ratio, staleness and failure-count monitors in one. */
public final class MonitorTopology {

    private MonitorTopology() {
    }

    /** Builds the topology of all monitors. */
    public static Topology build(MonitorTopics topics, Thresholds thresholds, MonitorSerdes serdes) {
        StreamsBuilder builder = new StreamsBuilder();
        KStream<String, TrainingStep> steps = LossRatioMonitor.metrics(builder, topics, serdes);
        LossRatioMonitor.build(builder, steps, topics, thresholds, serdes);
        StalenessMonitor.build(builder, steps, topics, thresholds, serdes);
        FailureCountMonitor.build(builder, topics, thresholds, serdes);
        return builder.build();
    }
}
