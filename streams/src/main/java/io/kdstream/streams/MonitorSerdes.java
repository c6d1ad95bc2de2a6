package io.kdstream.streams;

import io.kdstream.avro.Alert;
import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.MonitorEvent;
import io.kdstream.avro.RunManifest;
import io.kdstream.avro.TrainingStep;
import io.kdstream.schemas.serde.KdAvroSerdes;

import org.apache.kafka.common.serialization.Serde;

import java.util.Map;
import java.util.Objects;

/**
 * The value serdes of the monitors' topics. Keys are strings on every topic.
 *
 * @param trainingStep TrainingStep values of the metrics topic
 * @param failureEvent FailureEvent values of the dead-letter topic
 * @param monitorEvent MonitorEvent values of the monitors topic
 * @param alert        Alert values of the alerts topic
 * @param runManifest  RunManifest values of the runs topic
 */
public record MonitorSerdes(Serde<TrainingStep> trainingStep, Serde<FailureEvent> failureEvent,
                            Serde<MonitorEvent> monitorEvent, Serde<Alert> alert, Serde<RunManifest> runManifest) {

    public MonitorSerdes {
        Objects.requireNonNull(trainingStep, "trainingStep");
        Objects.requireNonNull(failureEvent, "failureEvent");
        Objects.requireNonNull(monitorEvent, "monitorEvent");
        Objects.requireNonNull(alert, "alert");
        Objects.requireNonNull(runManifest, "runManifest");
    }

    /** Avro serdes in the Confluent wire format, against the registry named by {@code schema.registry.url}. */
    public static MonitorSerdes avro(Map<String, ?> serdeConfig) {
        return new MonitorSerdes(
                KdAvroSerdes.value(TrainingStep.class, serdeConfig),
                KdAvroSerdes.value(FailureEvent.class, serdeConfig),
                KdAvroSerdes.value(MonitorEvent.class, serdeConfig),
                KdAvroSerdes.value(Alert.class, serdeConfig),
                KdAvroSerdes.value(RunManifest.class, serdeConfig));
    }
}
