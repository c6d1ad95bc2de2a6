package io.kdstream.ops.ingest.npy;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Reads a C-order {@code .npy} array one example at a time: the first axis is the example axis, each example is the
 * contiguous block of the remaining axes. {@link #open} checks the header and that the file holds exactly the bytes
 * the shape promises, so a truncated or padded file fails before anything is read, naming the first incomplete
 * example. The file is streamed through a 1 MiB buffer; only one example is in memory at a time.
 */
public final class NpyReader implements AutoCloseable {

    private static final int BUFFER_BYTES = 1 << 20;

    private final NpyHeader header;
    private final FileChannel channel;
    private final InputStream in;
    private final int[] exampleShape;
    private final int exampleBytes;
    private long next;

    private NpyReader(NpyHeader header, FileChannel channel, int[] exampleShape, int exampleBytes) {
        this.header = header;
        this.channel = channel;
        this.in = new BufferedInputStream(Channels.newInputStream(channel), BUFFER_BYTES);
        this.exampleShape = exampleShape;
        this.exampleBytes = exampleBytes;
    }

    /**
     * Opens {@code file} for reading examples.
     *
     * @throws NpyFormatException when the file is not a readable C-order array of a supported dtype with at least one
     *                            axis, or its size does not match its shape
     */
    public static NpyReader open(Path file) {
        FileChannel ch = null;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
            NpyHeader header = NpyHeader.read(ch, file);
            if (header.dtype().tensorType() == null) {
                throw new NpyFormatException(file + ": dtype " + header.dtype().descr() + " cannot be an input tensor; "
                        + "use uint8 (|u1), float32 (<f4), float16 (<f2), int32 (<i4) or int64 (<i8)");
            }
            if (header.shape().length == 0) {
                throw new NpyFormatException(file + ": holds a scalar; the first axis must be the example axis");
            }
            int[] exampleShape = new int[header.shape().length - 1];
            long exampleElements = 1;
            for (int i = 0; i < exampleShape.length; i++) {
                long dim = header.shape()[i + 1];
                if (dim > Integer.MAX_VALUE) {
                    throw new NpyFormatException(file + ": axis " + (i + 1) + " of shape " + header.shapeString()
                            + " is too large for a tensor");
                }
                exampleShape[i] = (int) dim;
                exampleElements *= dim;
            }
            long exampleBytes = exampleElements * header.dtype().size();
            if (exampleBytes > Integer.MAX_VALUE - 8) {
                throw new NpyFormatException(file + ": one example of shape " + header.shapeString() + " holds "
                        + exampleBytes + " bytes, more than one record can carry");
            }
            checkSize(header, ch.size(), exampleBytes);
            ch.position(header.dataOffset());
            NpyReader reader = new NpyReader(header, ch, exampleShape, (int) exampleBytes);
            ch = null;
            return reader;
        } catch (IOException e) {
            throw new NpyFormatException(file + ": cannot read: " + e.getMessage(), e);
        } finally {
            closeQuietly(ch);
        }
    }

    private static void checkSize(NpyHeader header, long fileSize, long exampleBytes) {
        long expected = header.dataBytes();
        long actual = fileSize - header.dataOffset();
        if (actual < expected) {
            String where = exampleBytes == 0 ? "" : "; example " + (actual / exampleBytes) + " (0-based) is the first "
                    + "incomplete one";
            throw new NpyFormatException(header.file() + ": truncated or ragged: shape " + header.shapeString() + " of "
                    + header.dtype().descr() + " needs " + expected + " data bytes but the file has " + actual + where);
        }
        if (actual > expected) {
            throw new NpyFormatException(header.file() + ": " + (actual - expected) + " bytes follow the last example "
                    + "of shape " + header.shapeString() + "; not a single .npy array");
        }
    }

    public NpyHeader header() {
        return header;
    }

    /** Number of examples: the length of the first axis. */
    public long exampleCount() {
        return header.shape()[0];
    }

    /** Shape of one example: the remaining axes. */
    public int[] exampleShape() {
        return exampleShape.clone();
    }

    /** Bytes of one example. */
    public int exampleBytes() {
        return exampleBytes;
    }

    /** Index of the example {@link #next()} returns. */
    public long position() {
        return next;
    }

    public boolean hasNext() {
        return next < exampleCount();
    }

    /**
     * The next example's element bytes, little-endian as in the file, in a fresh buffer the caller owns.
     *
     * @throws NpyFormatException when the file ends early (it changed since {@link #open}) or cannot be read
     */
    public ByteBuffer next() {
        if (!hasNext()) {
            throw new java.util.NoSuchElementException("all " + exampleCount() + " examples of " + header.file() + " read");
        }
        try {
            byte[] bytes = in.readNBytes(exampleBytes);
            if (bytes.length != exampleBytes) {
                throw new NpyFormatException(header.file() + ": ends inside example " + next + " (changed while read?)");
            }
            next++;
            return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new NpyFormatException(header.file() + ": cannot read example " + next + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads a label file: a 1-D integer array (or {@code [n, 1]}) of exactly {@code expectedCount} non-negative labels
     * that fit an int.
     *
     * @param examplesFile the examples the labels belong to, for messages
     * @throws NpyFormatException naming the label file and, for a bad label, its index
     */
    public static int[] readLabels(Path labelsFile, long expectedCount, Path examplesFile) {
        try (FileChannel ch = FileChannel.open(labelsFile, StandardOpenOption.READ)) {
            NpyHeader h = NpyHeader.read(ch, labelsFile);
            if (!h.dtype().isInteger()) {
                throw new NpyFormatException(labelsFile + ": labels must be integers, got dtype " + h.dtype().descr());
            }
            long[] shape = h.shape();
            boolean column = shape.length == 2 && shape[1] == 1;
            if (shape.length != 1 && !column) {
                throw new NpyFormatException(labelsFile + ": labels must be a 1-D array (n,), got shape " + h.shapeString());
            }
            if (shape[0] != expectedCount) {
                throw new NpyFormatException(labelsFile + ": holds " + shape[0] + " labels but " + examplesFile + " holds "
                        + expectedCount + " examples");
            }
            checkSize(h, ch.size(), h.dtype().size());
            ch.position(h.dataOffset());
            int n = Math.toIntExact(shape[0]);
            ByteBuffer data = ByteBuffer.allocate(Math.multiplyExact(n, h.dtype().size())).order(ByteOrder.LITTLE_ENDIAN);
            while (data.hasRemaining()) {
                if (ch.read(data) < 0) {
                    throw new NpyFormatException(labelsFile + ": ends early");
                }
            }
            data.flip();
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) {
                long v = element(data, h.dtype(), i);
                if (v < 0) {
                    throw new NpyFormatException(labelsFile + ": label " + v + " at index " + i + " is negative");
                }
                if (v > Integer.MAX_VALUE) {
                    throw new NpyFormatException(labelsFile + ": label " + Long.toUnsignedString(v) + " at index " + i
                            + " is too large");
                }
                labels[i] = (int) v;
            }
            return labels;
        } catch (IOException e) {
            throw new NpyFormatException(labelsFile + ": cannot read: " + e.getMessage(), e);
        } catch (ArithmeticException e) {
            throw new NpyFormatException(labelsFile + ": too many labels for one ingest", e);
        }
    }

    private static long element(ByteBuffer data, NpyDtype dtype, int i) {
        return switch (dtype) {
            case UINT8 -> data.get(i) & 0xffL;
            case INT8 -> data.get(i);
            case INT16 -> data.getShort(i * 2);
            case UINT16 -> data.getShort(i * 2) & 0xffffL;
            case INT32 -> data.getInt(i * 4);
            case UINT32 -> data.getInt(i * 4) & 0xffffffffL;
            // an unsigned value of 2^63 or more reads negative; report it as too large, not negative
            case UINT64 -> data.getLong(i * 8) < 0 ? Long.MAX_VALUE : data.getLong(i * 8);
            case INT64 -> data.getLong(i * 8);
            default -> throw new NpyFormatException("not an integer dtype: " + dtype.descr());
        };
    }

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException e) {
            // read-only file: nothing to lose
        } finally {
            closeQuietly(channel);
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // read-only file: nothing to lose
            }
        }
    }

    @Override
    public String toString() {
        return "NpyReader[" + header.file() + ", examples " + exampleCount() + " of " + Arrays.toString(exampleShape) + "]";
    }
}
