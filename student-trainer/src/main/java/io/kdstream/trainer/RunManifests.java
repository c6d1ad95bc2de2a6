package io.kdstream.trainer;

import io.kdstream.avro.PartitionRange;
import io.kdstream.avro.RunManifest;
import io.kdstream.avro.RunStatus;
import io.kdstream.core.KdException;

import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.io.JsonEncoder;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Reads and writes {@link RunManifest}s as Avro JSON files ({@code manifest.json} next to the model). */
public final class RunManifests {
    public static final String FILE = "manifest.json";

    private RunManifests() {
    }

    /**
     * The STARTED manifest of a run: its settings (secrets removed, the engine's thread count added), seed, student
     * and offset ranges.
     */
    static RunManifest.Builder started(TrainerConfig config, String runId, String student, List<PartitionRange> ranges,
                                       long startedAtMs) {
        Map<String, String> redacted = new TreeMap<>(config.redacted());
        redacted.put(Trainer.RUNTIME_THREADS_KEY, Trainer.runtimeThreads());
        return RunManifest.newBuilder()
                .setRunId(runId)
                .setGroup(config.group())
                .setStatus(RunStatus.STARTED)
                .setConfig(redacted)
                .setConfigSha256(TrainerConfig.canonicalSha256(redacted))
                .setCodeVersion(Trainer.codeVersion())
                .setSeed(config.seed())
                .setStudentArchitecture(student)
                .setTeacherSha256(null)
                .setRanges(ranges)
                .setStartedAtMs(Instant.ofEpochMilli(startedAtMs));
    }

    /**
     * Ends a run's manifest: FINISHED with the final model's sha256, the teacher's (for a run that distilled a teacher
     * stream) and the end time; written as {@link #FILE} into {@code modelDir} before it is returned (for publishing).
     */
    static RunManifest finish(RunManifest.Builder manifest, TrainerConfig config, String teacherSha256, String modelSha256,
                              Path modelDir) {
        RunManifest done = manifest.setStatus(RunStatus.FINISHED)
                .setTeacherSha256(config.teacherStream() ? teacherSha256 : null)
                .setFinalModelSha256(modelSha256)
                .setEndedAtMs(Instant.now())
                .build();
        write(modelDir.resolve(FILE), done);
        return done;
    }

    public static String toJson(RunManifest manifest) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            JsonEncoder encoder = EncoderFactory.get().jsonEncoder(RunManifest.getClassSchema(), out, true);
            new SpecificDatumWriter<>(RunManifest.class).write(manifest, encoder);
            encoder.flush();
            return out.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new KdException("Cannot encode run manifest " + manifest.getRunId() + ": " + e.getMessage(), e);
        }
    }

    public static RunManifest fromJson(String json, String source) {
        try {
            return new SpecificDatumReader<>(RunManifest.class).read(null,
                    DecoderFactory.get().jsonDecoder(RunManifest.getClassSchema(), json));
        } catch (IOException | RuntimeException e) {
            throw new KdException("Cannot read the run manifest " + source + ": " + e.getMessage(), e);
        }
    }

    public static void write(Path file, RunManifest manifest) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, toJson(manifest), StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new KdException("Cannot write the run manifest to " + file + ": " + e.getMessage(), e);
        }
    }

    public static RunManifest read(Path file) {
        try {
            return fromJson(Files.readString(file, StandardCharsets.UTF_8), file.toString());
        } catch (IOException e) {
            throw new KdException("Cannot read the run manifest " + file + ": " + e.getMessage(), e);
        }
    }
}
