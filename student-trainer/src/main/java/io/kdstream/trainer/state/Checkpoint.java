package io.kdstream.trainer.state;

import io.kdstream.trainer.source.Cursor;

import io.kdstream.avro.PartitionRange;
import io.kdstream.core.KdException;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The complete state of a run at a step boundary: parameters (student, adapters, temperature), optimizer state,
 * step, schedule position (the step), shuffle position (the cursor: the generator is re-derived from seed, epoch and
 * block) and the offsets to resume from. Written atomically (temporary file, fsync, rename) and closed by a sha256 of
 * its content, so a torn or altered file is detected instead of silently trained on.
 *
 * @param runId            run the checkpoint belongs to
 * @param trainingSha256   hash of the settings that determine the parameters; a resumed run must match it
 * @param step             steps taken
 * @param samples          examples trained on
 * @param failedSteps      steps skipped for a non-finite loss
 * @param optimizerUpdates updates the optimizer applied
 * @param startedAtMs      start of the run
 * @param teacherSha256    teacher of the first record, or empty
 * @param ranges           the run's offset ranges
 * @param cursor           where the batch sequence resumes
 * @param arrays           named float arrays: {@code param:}, {@code adapter:}, {@code temperature}, {@code m:}/{@code v:}
 * @param shapes           their shapes
 */
public record Checkpoint(String runId, String trainingSha256, long step, long samples, long failedSteps, long optimizerUpdates,
                         long startedAtMs, String teacherSha256, List<PartitionRange> ranges, Cursor cursor,
                         Map<String, float[]> arrays, Map<String, long[]> shapes) {

    public static final String FILE = "checkpoint.bin";
    private static final int MAGIC = 0x4B44434B; // "KDCK"
    private static final int VERSION = 1;

    public Checkpoint {
        ranges = List.copyOf(ranges);
        arrays = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(arrays));
        shapes = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(shapes));
    }

    /** Reads the checkpoint in {@code dir}, if there is one. */
    public static Optional<Checkpoint> read(Path dir) {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try {
            byte[] all = Files.readAllBytes(file);
            if (all.length < 32) {
                throw corrupted(file, "too short");
            }
            byte[] body = Arrays.copyOf(all, all.length - 32);
            byte[] sha = Arrays.copyOfRange(all, all.length - 32, all.length);
            if (!Arrays.equals(sha256(body), sha)) {
                throw corrupted(file, "sha256 mismatch");
            }
            try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(body))) {
                if (in.readInt() != MAGIC || in.readInt() != VERSION) {
                    throw corrupted(file, "not a kdstream checkpoint of version " + VERSION);
                }
                String runId = in.readUTF();
                String trainingSha = in.readUTF();
                long step = in.readLong();
                long samples = in.readLong();
                long failed = in.readLong();
                long updates = in.readLong();
                long startedAt = in.readLong();
                String teacher = in.readUTF();
                int nr = in.readInt();
                List<PartitionRange> ranges = new ArrayList<>(nr);
                for (int i = 0; i < nr; i++) {
                    ranges.add(new PartitionRange(in.readUTF(), in.readInt(), in.readLong(), in.readLong()));
                }
                int epoch = in.readInt();
                long block = in.readLong();
                int rr = in.readInt();
                int skip = in.readInt();
                int np = in.readInt();
                Map<Integer, Long> start = new TreeMap<>();
                for (int i = 0; i < np; i++) {
                    start.put(in.readInt(), in.readLong());
                }
                int na = in.readInt();
                Map<String, float[]> arrays = new LinkedHashMap<>();
                Map<String, long[]> shapes = new LinkedHashMap<>();
                for (int i = 0; i < na; i++) {
                    String name = in.readUTF();
                    long[] shape = new long[in.readInt()];
                    for (int d = 0; d < shape.length; d++) {
                        shape[d] = in.readLong();
                    }
                    float[] data = new float[in.readInt()];
                    for (int k = 0; k < data.length; k++) {
                        data[k] = Float.intBitsToFloat(in.readInt());
                    }
                    arrays.put(name, data);
                    shapes.put(name, shape);
                }
                return Optional.of(new Checkpoint(runId, trainingSha, step, samples, failed, updates, startedAt, teacher, ranges,
                        new Cursor(epoch, block, start, rr, skip), arrays, shapes));
            }
        } catch (IOException e) {
            throw corrupted(file, e.toString());
        }
    }

    /** Writes this checkpoint into {@code dir} atomically. */
    public void write(Path dir) {
        try {
            Files.createDirectories(dir);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 20);
            try (DataOutputStream out = new DataOutputStream(bytes)) {
                out.writeInt(MAGIC);
                out.writeInt(VERSION);
                out.writeUTF(runId);
                out.writeUTF(trainingSha256);
                out.writeLong(step);
                out.writeLong(samples);
                out.writeLong(failedSteps);
                out.writeLong(optimizerUpdates);
                out.writeLong(startedAtMs);
                out.writeUTF(teacherSha256 == null ? "" : teacherSha256);
                out.writeInt(ranges.size());
                for (PartitionRange r : ranges) {
                    out.writeUTF(r.getTopic());
                    out.writeInt(r.getPartition());
                    out.writeLong(r.getStartOffset());
                    out.writeLong(r.getEndOffset());
                }
                out.writeInt(cursor.epoch());
                out.writeLong(cursor.block());
                out.writeInt(cursor.roundRobin());
                out.writeInt(cursor.skip());
                out.writeInt(cursor.blockStart().size());
                for (Map.Entry<Integer, Long> e : cursor.blockStart().entrySet()) {
                    out.writeInt(e.getKey());
                    out.writeLong(e.getValue());
                }
                out.writeInt(arrays.size());
                for (Map.Entry<String, float[]> e : arrays.entrySet()) {
                    out.writeUTF(e.getKey());
                    long[] shape = shapes.get(e.getKey());
                    out.writeInt(shape.length);
                    for (long d : shape) {
                        out.writeLong(d);
                    }
                    out.writeInt(e.getValue().length);
                    for (float f : e.getValue()) {
                        out.writeInt(Float.floatToRawIntBits(f));
                    }
                }
            }
            byte[] body = bytes.toByteArray();
            Path tmp = dir.resolve(FILE + ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ch.write(java.nio.ByteBuffer.wrap(body));
                ch.write(java.nio.ByteBuffer.wrap(sha256(body)));
                ch.force(true);
            }
            try {
                Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, dir.resolve(FILE), StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new KdException("Cannot write the checkpoint to " + dir + ": " + e.getMessage(), e);
        }
    }

    private static KdException corrupted(Path file, String why) {
        return new KdException("Corrupted checkpoint " + file + " (" + why + "). Restore it from a backup or delete the "
                + "run directory to start the run over.");
    }

    static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
