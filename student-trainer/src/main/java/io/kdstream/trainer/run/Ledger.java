package io.kdstream.trainer.run;

import io.kdstream.trainer.source.Batch;

import io.kdstream.core.KdException;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The per-step ledger of an online run: one line {@code STEP<TAB>P:START-END,P:START-END,...} per step, the offset
 * segments the step's batch was cut from, in batch order. Synced with every checkpoint; steps after the last
 * checkpoint are cut off on resume, since they are trained again (possibly cut differently).
 */
public final class Ledger implements AutoCloseable {
    private final FileChannel channel;
    private final OutputStream out;

    private Ledger(FileChannel channel) {
        this.channel = channel;
        this.out = Channels.newOutputStream(channel);
    }

    /** Opens {@code file} for appending (created if missing). */
    public static Ledger append(Path file) {
        try {
            Files.createDirectories(file.getParent());
            return new Ledger(FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND));
        } catch (IOException e) {
            throw new KdException("Cannot open the ledger " + file + ": " + e.getMessage(), e);
        }
    }

    public void write(long step, List<Batch.Segment> segments) {
        StringBuilder sb = new StringBuilder().append(step).append('\t');
        for (int i = 0; i < segments.size(); i++) {
            sb.append(i == 0 ? "" : ",").append(segments.get(i));
        }
        sb.append('\n');
        try {
            out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new KdException("Cannot write the ledger: " + e.getMessage(), e);
        }
    }

    public void sync() {
        try {
            channel.force(false);
        } catch (IOException e) {
            throw new KdException("Cannot sync the ledger: " + e.getMessage(), e);
        }
    }

    /** Keeps the entries of steps {@code <= lastStep} (atomically rewritten); no-op when the file does not exist. */
    public static void truncate(Path file, long lastStep) {
        if (!Files.exists(file)) {
            return;
        }
        List<String> kept = new ArrayList<>();
        for (String line : lines(file)) {
            if (Long.parseLong(line.substring(0, line.indexOf('\t'))) <= lastStep) {
                kept.add(line);
            }
        }
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.write(tmp, kept, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new KdException("Cannot truncate the ledger " + file + ": " + e.getMessage(), e);
        }
    }

    /** The segments of every step, in step order. */
    public static List<List<Batch.Segment>> read(Path file) {
        List<List<Batch.Segment>> out = new ArrayList<>();
        long expected = 1;
        for (String line : lines(file)) {
            int tab = line.indexOf('\t');
            long step = Long.parseLong(line.substring(0, tab));
            if (step != expected) {
                throw new KdException("Ledger " + file + " is not contiguous: step " + step + " where " + expected + " was expected");
            }
            expected++;
            List<Batch.Segment> segments = new ArrayList<>();
            for (String s : line.substring(tab + 1).split(",")) {
                segments.add(Batch.Segment.parse(s));
            }
            out.add(segments);
        }
        return out;
    }

    private static List<String> lines(Path file) {
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).toList();
        } catch (IOException e) {
            throw new KdException("Cannot read the ledger " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            channel.force(false);
            channel.close();
        } catch (IOException e) {
            throw new KdException("Cannot close the ledger: " + e.getMessage(), e);
        }
    }
}
