package io.kdstream.ops.ingest;

import java.util.Objects;

/**
 * What one ingest of one source published: {@code records} acknowledged records of {@code bytes} key and value bytes
 * in {@code seconds}; {@code labelled} of them carry a label.
 */
public record IngestResult(String source, long records, long bytes, double seconds, long labelled) {
    public IngestResult {
        Objects.requireNonNull(source, "source");
        if (records < 0 || bytes < 0 || seconds < 0 || labelled < 0 || labelled > records) {
            throw new IllegalArgumentException("negative result: " + records + " records, " + bytes + " bytes, "
                    + seconds + " s");
        }
    }

    public double recordsPerSecond() {
        return seconds > 0 ? records / seconds : 0.0;
    }
}
