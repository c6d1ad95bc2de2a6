package io.kdstream.streams.internals;

import io.kdstream.avro.RunManifest;
import io.kdstream.avro.RunStatus;

import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the global store of ended runs from the trainers' RunManifest records: a FINISHED or FAILED manifest records
 * the run's end, a STARTED manifest or a tombstone forgets it. Values arrive as bytes and are decoded here, so a
 * record that cannot be decoded is logged, counted and skipped without stopping the global thread (which has no
 * transactional producer to dead-letter it); the windows of such a run still close in a quiet period.
 */
public final class RunStateUpdater implements Processor<String, byte[], Void, Void> {

    private static final Logger LOGGER = LoggerFactory.getLogger(RunStateUpdater.class);

    private final String storeName;
    private final String topic;
    private final Deserializer<RunManifest> deserializer;
    private KeyValueStore<String, RunEnd> runs;
    private long skipped;

    public RunStateUpdater(String storeName, String topic, Deserializer<RunManifest> deserializer) {
        this.storeName = storeName;
        this.topic = topic;
        this.deserializer = deserializer;
    }

    @Override
    public void init(ProcessorContext<Void, Void> context) {
        this.runs = context.getStateStore(storeName);
    }

    @Override
    public void process(Record<String, byte[]> record) {
        if (record.value() == null) {
            if (record.key() != null) {
                runs.delete(record.key());
            }
            return;
        }
        RunManifest manifest;
        try {
            manifest = deserializer.deserialize(topic, record.value());
        } catch (RuntimeException e) {
            skipped++;
            LOGGER.warn("skipped undecodable run manifest topic={} key={} skipped={} reason={}", topic, record.key(),
                    skipped, e.toString());
            LOGGER.debug("decode failure of a run manifest", e);
            return;
        }
        if (manifest == null) {
            return;
        }
        String runId = manifest.getRunId();
        if (manifest.getStatus() == RunStatus.STARTED) {
            runs.delete(runId);
            return;
        }
        long endedAt = manifest.getEndedAtMs() == null ? Long.MAX_VALUE : manifest.getEndedAtMs().toEpochMilli();
        runs.put(runId, new RunEnd(manifest.getStatus(), endedAt));
        LOGGER.info("run ended runId={} status={} endedAtMs={}", runId, manifest.getStatus(), endedAt);
    }
}
