package io.kdstream.ops.ingest.images;

import io.kdstream.avro.DType;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.InputRecord;
import io.kdstream.avro.Tensor;
import io.kdstream.core.KdException;
import io.kdstream.core.data.LabelSelection;
import io.kdstream.core.kafka.DeadLetterPublisher;
import io.kdstream.ops.ingest.IngestResult;
import io.kdstream.ops.ingest.InputPublisher;

import org.apache.kafka.clients.producer.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.function.LongConsumer;

/**
 * Publishes an {@link ImageFolder} to the inputs topic: each image becomes one {@link InputRecord} with its relative
 * path as id ({@code cat/001.png}), a UINT8 {@code [C, H, W]} tensor (see {@link ImageDecoder} for channels and
 * alpha), its class index as label and the attributes {@code file}, {@code class} and {@code index} (its position in
 * the folder's order).
 *
 * <p>{@link #prepare} reads every header first: without a resize every readable image must have the size of the first
 * one (a topic of mixed shapes cannot be batched), else it fails naming both files before anything is sent. An image
 * that cannot be read (at the header or while decoding) does not stop the ingest: it is skipped, logged, listed in
 * {@link #skipped()} and, when a {@link DeadLetterPublisher} is given, published to the dead-letter topic as a
 * {@code DESERIALIZATION} {@code FailureEvent} naming the file and the reason.
 */
public final class ImageFolderIngest {

    private static final Logger LOGGER = LoggerFactory.getLogger(ImageFolderIngest.class);

    /** How many channels to publish. */
    public enum Channels {
        /** 1 when every image is grey, else 3. */
        AUTO,
        /** Grey (luma of colour images). */
        ONE,
        /** RGB (grey images replicated). */
        THREE
    }

    /** A requested size, height first. */
    public record Size(int height, int width) {
        public Size {
            if (height < 1 || width < 1) {
                throw new IllegalArgumentException("size must be positive, got " + height + "x" + width);
            }
        }

        /** Parses {@code HxW}, e.g. {@code 32x32}. */
        public static Size parse(String value) {
            String[] parts = value.trim().toLowerCase(java.util.Locale.ROOT).split("x");
            try {
                if (parts.length == 2) {
                    return new Size(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()));
                }
            } catch (IllegalArgumentException e) {
                // fall through to the message below
            }
            throw new IllegalArgumentException("expected HxW with positive integers (e.g. 32x32), got '" + value + "'");
        }

        @Override
        public String toString() {
            return height + "x" + width;
        }
    }

    /** An image left out, and why. */
    public record Skipped(String relativePath, String reason) {
    }

    private final ImageFolder folder;
    private final String source;
    private final List<ImageFolder.Entry> readable;
    private final int channels;
    private final Size size;
    private final List<Skipped> skipped = new ArrayList<>();
    private final List<Skipped> toDeadLetter = new ArrayList<>();

    private ImageFolderIngest(ImageFolder folder, String source, List<ImageFolder.Entry> readable, int channels, Size size,
            List<Skipped> unreadable) {
        this.folder = folder;
        this.source = source;
        this.readable = readable;
        this.channels = channels;
        this.size = size;
        unreadable.forEach(this::skip);
    }

    /**
     * Reads the headers of the first {@code limit} images ({@code limit <= 0}: all) and fixes the tensor shape.
     *
     * @param source null for {@code images/<folder name>}
     * @param resize null to keep the images' own (common) size
     * @throws KdException when no image is readable or, without a resize, two images differ in size
     */
    public static ImageFolderIngest prepare(ImageFolder folder, String source, Size resize, Channels channels, int limit) {
        List<ImageFolder.Entry> all = limit > 0 && limit < folder.images().size()
                ? folder.images().subList(0, limit) : folder.images();
        List<ImageFolder.Entry> readable = new ArrayList<>(all.size());
        List<Skipped> unreadable = new ArrayList<>();
        ImageFolder.Entry first = null;
        ImageDecoder.Header firstHeader = null;
        boolean allGrey = true;
        for (ImageFolder.Entry e : all) {
            ImageDecoder.Header h;
            try {
                h = ImageDecoder.probe(e.file());
            } catch (IOException ex) {
                unreadable.add(new Skipped(e.relativePath(), ex.getMessage()));
                continue;
            }
            if (first == null) {
                first = e;
                firstHeader = h;
            } else if (resize == null && (h.width() != firstHeader.width() || h.height() != firstHeader.height())) {
                throw new KdException(e.file() + " is " + h.height() + "x" + h.width() + " (HxW) but " + first.file()
                        + " is " + firstHeader.height() + "x" + firstHeader.width() + "; images of one topic must share "
                        + "a shape: pass --resize HxW");
            }
            allGrey &= h.grey();
            readable.add(e);
        }
        if (first == null) {
            throw new KdException("no readable PNG or JPEG image in " + folder.root() + " (" + all.size()
                    + " image files, " + unreadable.size() + " unreadable)");
        }
        int c = switch (channels) {
            case AUTO -> allGrey ? 1 : 3;
            case ONE -> 1;
            case THREE -> 3;
        };
        Size s = resize != null ? resize : new Size(firstHeader.height(), firstHeader.width());
        String name = source != null ? source : "images/" + folder.root().toAbsolutePath().normalize().getFileName();
        return new ImageFolderIngest(folder, name, readable, c, s, unreadable);
    }

    public String source() {
        return source;
    }

    /** The shape of every tensor: {@code [C, H, W]}. */
    public List<Integer> shape() {
        return List.of(channels, size.height(), size.width());
    }

    /** Images whose header was readable (decoding may still skip some). */
    public int candidates() {
        return readable.size();
    }

    /** Images skipped so far, in folder order of discovery. */
    public List<Skipped> skipped() {
        return List.copyOf(skipped);
    }

    /** The records, decoded one at a time; an image that fails to decode is skipped and recorded. */
    public Iterator<InputRecord> records(LabelSelection selection, Clock clock) {
        Objects.requireNonNull(selection, "selection");
        List<Integer> shape = shape();
        Map<String, Integer> position = new java.util.HashMap<>();
        for (int i = 0; i < folder.images().size(); i++) {
            position.put(folder.images().get(i).relativePath(), i);
        }
        return new Iterator<>() {
            private int next;
            private InputRecord ready;

            @Override
            public boolean hasNext() {
                while (ready == null && next < readable.size()) {
                    ready = decode(readable.get(next++));
                }
                return ready != null;
            }

            @Override
            public InputRecord next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                InputRecord r = ready;
                ready = null;
                return r;
            }

            private InputRecord decode(ImageFolder.Entry e) {
                byte[] pixels;
                try {
                    pixels = ImageDecoder.decode(e.file(), channels, true, size.height(), size.width());
                } catch (IOException | RuntimeException ex) {
                    skip(new Skipped(e.relativePath(), ex.getMessage() == null ? ex.toString() : ex.getMessage()));
                    return null;
                }
                String id = e.relativePath();
                return InputRecord.newBuilder()
                        .setId(id)
                        .setSource(source)
                        .setInput(new Tensor(DType.UINT8, new ArrayList<>(shape), ByteBuffer.wrap(pixels)))
                        .setLabel(selection.keeps(id) ? e.classIndex() : null)
                        .setLabels(null)
                        .setTimestampMs(Instant.ofEpochMilli(clock.millis()))
                        .setAttributes(Map.of("file", e.relativePath(), "class", e.className(),
                                "index", Integer.toString(position.get(id))))
                        .build();
            }
        };
    }

    /**
     * Publishes every readable image through {@code publisher}; skipped images go to {@code deadLetters} (may be null)
     * through the same producer, and the method waits until those are acknowledged too.
     *
     * @throws KdException when a send fails
     */
    public IngestResult publish(InputPublisher publisher, DeadLetterPublisher deadLetters, LabelSelection selection,
            Clock clock, LongConsumer progress) {
        IngestResult result = publisher.publish(source, readable.size(), records(selection, clock), progress);
        if (deadLetters != null) {
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            for (Skipped s : toDeadLetter) {
                sent.add(deadLetters.publish(publisher.producer(), FailureKind.DESERIALIZATION,
                        "cannot decode image " + s.relativePath() + " of " + folder.root() + ": " + s.reason(), null,
                        Map.of("file", s.relativePath(), "path", folder.root().resolve(s.relativePath()).toString(),
                                "source", source, "inputTopic", publisher.topic()), null));
            }
            toDeadLetter.clear();
            publisher.producer().flush();
            for (int i = 0; i < sent.size(); i++) {
                try {
                    sent.get(i).get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new KdException("interrupted while dead-lettering skipped images", e);
                } catch (ExecutionException e) {
                    throw new KdException("could not dead-letter the skipped image(s) to " + deadLetters.topic() + ": "
                            + e.getCause().getMessage(), e.getCause());
                }
            }
        }
        return result;
    }

    private void skip(Skipped s) {
        LOGGER.warn("Skipping unreadable image file={} root={} reason={}", s.relativePath(), folder.root(), s.reason());
        skipped.add(s);
        toDeadLetter.add(s);
    }
}
