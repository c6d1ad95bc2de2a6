package io.kdstream.trainer.state;

import io.kdstream.core.KdException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The training settings a checkpoint was written with, as {@code key=value} lines next to it
 * ({@value #FILE}), so that a resume refused for different settings can say which settings differ instead of only
 * two hashes.
 */
public final class TrainingSettingsFile {
    public static final String FILE = "training-settings.properties";

    /** Keys whose defaults changed on 2026-12-03, with the old defaults: named when an older checkpoint is refused. */
    private static final String OLD_DEFAULTS_HINT = "the defaults of kd.temperature and kd.alpha changed from 4 and 0.7 to 2 "
            + "and 0.9 on 2026-12-03: a run started with the old defaults resumes with -s kd.temperature=4 -s kd.alpha=0.7";

    private TrainingSettingsFile() {
    }

    /** Writes {@code settings} (sorted) to {@code dir}/{@value #FILE}, replacing it. */
    public static void write(Path dir, Map<String, String> settings) {
        StringBuilder sb = new StringBuilder("# the trainer.* and kd.* settings that determine the parameters of this run\n");
        new TreeMap<>(settings).forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        try {
            Files.createDirectories(dir);
            Path tmp = dir.resolve(FILE + ".tmp");
            Files.writeString(tmp, sb.toString(), StandardCharsets.UTF_8);
            Files.move(tmp, dir.resolve(FILE), StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new KdException("Cannot write " + dir.resolve(FILE) + ": " + e.getMessage(), e);
        }
    }

    /** The settings written to {@code dir}, or null when there are none (a checkpoint from before this file existed). */
    public static Map<String, String> read(Path dir) {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            Map<String, String> out = new TreeMap<>();
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                int eq = line.indexOf('=');
                if (!line.startsWith("#") && eq > 0) {
                    out.put(line.substring(0, eq), line.substring(eq + 1));
                }
            }
            return out;
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * What refusing to resume from the checkpoint in {@code dir} should say: the differing settings when the checkpoint
     * recorded them, else the two hashes and the defaults that changed.
     */
    public static String mismatch(Path dir, Map<String, String> now, String checkpointSha, String nowSha) {
        StringBuilder sb = new StringBuilder("The checkpoint in " + dir + " was written with different training settings");
        Map<String, String> then = read(dir);
        if (then == null) {
            sb.append(" (hash ").append(checkpointSha).append(", now ").append(nowSha).append("; it does not record them: ")
                    .append(OLD_DEFAULTS_HINT).append(")");
        } else {
            List<String> diffs = new ArrayList<>();
            TreeSet<String> keys = new TreeSet<>(then.keySet());
            keys.addAll(now.keySet());
            for (String key : keys) {
                String a = then.get(key);
                String b = now.get(key);
                if (!Objects.equals(a, b)) {
                    diffs.add(key + ": " + (a == null ? "its default" : a) + " then, " + (b == null ? "its default" : b) + " now");
                }
            }
            sb.append(": ").append(diffs.isEmpty() ? "none of the recorded ones (hash " + checkpointSha + ", now " + nowSha + ")"
                    : String.join("; ", diffs));
        }
        return sb.append(". Resume with the same trainer.* and kd.* settings, or use another trainer.checkpoint.dir.").toString();
    }
}
