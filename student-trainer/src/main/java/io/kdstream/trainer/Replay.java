package io.kdstream.trainer;

import io.kdstream.avro.RunManifest;
import io.kdstream.avro.RunStatus;
import io.kdstream.core.KdException;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.trainer.source.Batch;
import io.kdstream.trainer.run.Ledger;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Re-trains a finished run from its {@link RunManifest}: the same training settings, seed and offset ranges (for an
 * online run, the same per-step offset segments from its ledger), in a fresh run directory, then compares the final model's sha256 with the manifest's. On CPU with the same thread count
 * the two match bit for bit.
 */
public final class Replay {
    private static final Logger LOGGER = LoggerFactory.getLogger(Replay.class);
    private static final Set<String> RUN_LOCAL_KEYS = Set.of(TrainerConfig.CHECKPOINT_DIR_CONFIG, TrainerConfig.RUN_ID_CONFIG,
            TrainerConfig.TRAINER_ID_CONFIG, TrainerConfig.EVAL_DIR_CONFIG);

    /**
     * The replay's outcome.
     *
     * @param original the manifest replayed
     * @param result   the replay run
     */
    public record Outcome(RunManifest original, Trainer.Result result) {
        public boolean matches() {
            return original.getFinalModelSha256() != null && original.getFinalModelSha256().equals(result.modelSha256());
        }
    }

    private Replay() {
    }

    /**
     * Replays {@code manifest}. Connection settings come from {@code connection} (the manifest's are redacted and may
     * not apply here); training settings and ranges from the manifest.
     *
     * @param runDir a directory for the replay's checkpoint and model; it must not hold a checkpoint
     */
    public static Outcome run(RunManifest manifest, Map<String, ?> connection, Path runDir) {
        if (manifest.getStatus() != RunStatus.FINISHED || manifest.getFinalModelSha256() == null) {
            throw new KdException("Run " + manifest.getRunId() + " has not finished (status " + manifest.getStatus()
                    + "); only finished runs can be replayed.");
        }
        try {
            Files.createDirectories(runDir);
            try (var entries = Files.list(runDir)) {
                if (entries.findAny().isPresent()) {
                    throw new KdException("Replay directory " + runDir + " is not empty; give an empty or new directory.");
                }
            }
        } catch (IOException e) {
            throw new KdException("Cannot prepare replay directory " + runDir + ": " + e.getMessage(), e);
        }
        Map<String, Object> props = new HashMap<>(connection);
        manifest.getConfig().forEach((k, v) -> {
            if ((k.startsWith("trainer.") || k.startsWith("kd.")) && !RUN_LOCAL_KEYS.contains(k)) {
                props.put(k, v);
            }
        });
        List<List<Batch.Segment>> ledger = null;
        if (manifest.getLedgerPath() != null) {
            ledger = Ledger.read(Path.of(manifest.getLedgerPath()));
            props.put(TrainerConfig.FOLLOW_CONFIG, "false");
        }
        props.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, runDir.toString());
        props.put(TrainerConfig.RUN_ID_CONFIG, manifest.getRunId() + "-replay-" + System.currentTimeMillis());
        TrainerConfig config = new TrainerConfig(props);
        String recorded = manifest.getConfig().get(Trainer.RUNTIME_THREADS_KEY);
        if (recorded != null && !recorded.equals(Trainer.runtimeThreads())) {
            LOGGER.warn("Run {} trained with ai.djl.pytorch.num_threads={}, this replay runs with {}: CPU results can differ "
                    + "bitwise with another thread count (set -Dai.djl.pytorch.num_threads={})", manifest.getRunId(), recorded,
                    Trainer.runtimeThreads(), recorded);
        }
        LOGGER.info("Replaying run {} ({} ranges, seed {}) into {}", manifest.getRunId(), manifest.getRanges().size(),
                manifest.getSeed(), runDir);
        if (config.groupTraining()) {
            return new Outcome(manifest, GroupReplay.run(config, manifest));
        }
        try (Trainer trainer = Trainer.builder().setConfig(config).optRanges(manifest.getRanges()).optLedger(ledger).build()) {
            return new Outcome(manifest, trainer.run());
        }
    }

    /**
     * The last FINISHED manifest of {@code runId} on the runs topic.
     *
     * @throws KdException when the topic holds no finished manifest of that run
     */
    public static RunManifest findManifest(KdConfig config, String runId) {
        String topic = config.topics().runs();
        Deserializer<RunManifest> deserializer = KdAvroSerdes.value(RunManifest.class, config.serdeProperties()).deserializer();
        RunManifest found = null;
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
            if (infos == null || infos.isEmpty()) {
                throw new KdException("Runs topic " + topic + " does not exist.");
            }
            List<TopicPartition> tps = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps);
            long deadline = System.currentTimeMillis() + 60_000;
            while (tps.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                if (System.currentTimeMillis() > deadline) {
                    throw new KdException("Timed out reading " + topic);
                }
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    try {
                        RunManifest m = deserializer.deserialize(topic, r.value());
                        if (m != null && runId.equals(m.getRunId()) && m.getStatus() == RunStatus.FINISHED) {
                            found = m;
                        }
                    } catch (RuntimeException e) {
                        LOGGER.warn("Skipping unreadable record {}-{}@{} of {}: {}", r.topic(), r.partition(), r.offset(), topic,
                                e.toString());
                    }
                }
            }
        }
        if (found == null) {
            throw new KdException("No finished manifest of run " + runId + " on " + topic + ".");
        }
        return found;
    }
}
