package io.kdstream.ops.ingest.npy;

import io.kdstream.avro.InputRecord;
import io.kdstream.avro.Tensor;
import io.kdstream.core.data.LabelSelection;
import io.kdstream.ops.ingest.IngestResult;
import io.kdstream.ops.ingest.InputPublisher;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.function.LongConsumer;

/**
 * Publishes a NumPy array to the inputs topic: example {@code i} (along the first axis) becomes one
 * {@link InputRecord} with the id {@code <prefix>-00042} (zero-padded to at least five digits), the remaining axes as
 * the shape, the file's dtype, the label from an optional label file, and the attributes {@code file} (the file
 * name) and {@code index}.
 *
 * <p>Everything that can be wrong with the files (format, dtype, Fortran order, size, label count, negative labels)
 * is checked by {@link #open} before anything is sent.
 */
public final class NpyIngest implements AutoCloseable {

    private final NpyReader examples;
    private final int[] labels;
    private final Path file;
    private final String source;
    private final String idPrefix;
    private final int idDigits;

    private NpyIngest(NpyReader examples, int[] labels, Path file, String source, String idPrefix) {
        this.examples = examples;
        this.labels = labels;
        this.file = file;
        this.source = source;
        this.idPrefix = idPrefix;
        this.idDigits = Math.max(5, Long.toString(Math.max(0, examples.exampleCount() - 1)).length());
    }

    /**
     * Opens and checks {@code file} and {@code labelsFile} (may be null: the records carry no label).
     *
     * @param source   the records' source; null for {@code npy/<file stem>}
     * @param idPrefix the ids' prefix; null for the file stem
     * @throws NpyFormatException naming the file and, where it applies, the index at fault
     */
    public static NpyIngest open(Path file, Path labelsFile, String source, String idPrefix) {
        NpyReader reader = NpyReader.open(file);
        try {
            int[] labels = labelsFile == null ? null : NpyReader.readLabels(labelsFile, reader.exampleCount(), file);
            String stem = stem(file);
            return new NpyIngest(reader, labels, file, source != null ? source : "npy/" + stem,
                    idPrefix != null ? idPrefix : stem);
        } catch (RuntimeException e) {
            reader.close();
            throw e;
        }
    }

    static String stem(Path file) {
        String name = file.getFileName().toString();
        return name.toLowerCase(Locale.ROOT).endsWith(".npy") ? name.substring(0, name.length() - 4) : name;
    }

    public String source() {
        return source;
    }

    public long exampleCount() {
        return examples.exampleCount();
    }

    public int[] exampleShape() {
        return examples.exampleShape();
    }

    public NpyHeader header() {
        return examples.header();
    }

    /** The id of example {@code i}. */
    public String id(long i) {
        return String.format(Locale.ROOT, "%s-%0" + idDigits + "d", idPrefix, i);
    }

    /**
     * Reads the first {@code count} examples in order, as records; a label {@code selection} drops is left out.
     * Each record owns its tensor bytes: one example is read per record.
     */
    public Iterator<InputRecord> records(long count, LabelSelection selection, Clock clock) {
        Objects.requireNonNull(selection, "selection");
        long n = Math.min(count, exampleCount());
        List<Integer> shape = new ArrayList<>();
        for (int d : examples.exampleShape()) {
            shape.add(d);
        }
        String fileName = file.getFileName().toString();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return examples.position() < n;
            }

            @Override
            public InputRecord next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                long i = examples.position();
                String id = id(i);
                Tensor tensor = new Tensor(examples.header().dtype().tensorType(), new ArrayList<>(shape), examples.next());
                Integer label = labels == null || !selection.keeps(id) ? null : labels[(int) i];
                return InputRecord.newBuilder()
                        .setId(id)
                        .setSource(source)
                        .setInput(tensor)
                        .setLabel(label)
                        .setLabels(null)
                        .setTimestampMs(Instant.ofEpochMilli(clock.millis()))
                        .setAttributes(Map.of("file", fileName, "index", Long.toString(i)))
                        .build();
            }
        };
    }

    /** Publishes the first {@code limit} examples ({@code limit <= 0}: all) through {@code publisher}. */
    public IngestResult publish(InputPublisher publisher, long limit, LabelSelection selection, Clock clock,
            LongConsumer progress) {
        long n = limit <= 0 ? exampleCount() : Math.min(limit, exampleCount());
        return publisher.publish(source, n, records(n, selection, clock), progress);
    }

    @Override
    public void close() {
        examples.close();
    }
}
