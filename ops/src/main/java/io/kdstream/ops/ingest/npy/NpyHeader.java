package io.kdstream.ops.ingest.npy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * The header of a NumPy {@code .npy} file (format versions 1.0, 2.0 and 3.0): the magic string {@code \x93NUMPY}, the
 * version, the header length (2 bytes little-endian in 1.0, 4 bytes in 2.0 and 3.0) and a Python dict literal with
 * {@code descr}, {@code fortran_order} and {@code shape}. The element data follows at {@link #dataOffset()}.
 *
 * @param file        the file, for messages
 * @param major       format major version (1, 2 or 3)
 * @param minor       format minor version
 * @param dtype       element type
 * @param shape       array shape; empty for a scalar
 * @param dataOffset  where the element data starts
 */
public record NpyHeader(Path file, int major, int minor, NpyDtype dtype, long[] shape, long dataOffset) {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** Headers are a few hundred bytes; a larger length is a corrupt file, not a header to allocate. */
    private static final int MAX_HEADER_BYTES = 1 << 20;

    /** Number of elements the shape holds. */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Bytes of element data the header promises. */
    public long dataBytes() {
        return Math.multiplyExact(elementCount(), (long) dtype.size());
    }

    /** Reads and checks the header of {@code file}. */
    public static NpyHeader read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return read(ch, file);
        } catch (IOException e) {
            throw new NpyFormatException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Reads and checks the header from the start of {@code ch}; leaves the position at the data. */
    static NpyHeader read(FileChannel ch, Path file) throws IOException {
        ch.position(0);
        ByteBuffer prefix = ByteBuffer.allocate(8);
        if (!readFully(ch, prefix)) {
            throw new NpyFormatException(file + ": not a NumPy .npy file (" + ch.size() + " bytes, too short for the "
                    + "magic string and version)");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (prefix.get(i) != MAGIC[i]) {
                throw new NpyFormatException(file + ": not a NumPy .npy file (bad magic string; expected \\x93NUMPY)");
            }
        }
        int major = prefix.get(6) & 0xff;
        int minor = prefix.get(7) & 0xff;
        if (major < 1 || major > 3) {
            throw new NpyFormatException(file + ": .npy format version " + major + "." + minor
                    + " is not supported (1.0, 2.0 and 3.0 are)");
        }
        ByteBuffer len = ByteBuffer.allocate(major == 1 ? 2 : 4).order(ByteOrder.LITTLE_ENDIAN);
        if (!readFully(ch, len)) {
            throw new NpyFormatException(file + ": truncated .npy header");
        }
        long headerLength = major == 1 ? len.getShort(0) & 0xffff : len.getInt(0) & 0xffffffffL;
        if (headerLength > MAX_HEADER_BYTES) {
            throw new NpyFormatException(file + ": .npy header length " + headerLength + " is implausible (corrupt file)");
        }
        ByteBuffer text = ByteBuffer.allocate((int) headerLength);
        if (!readFully(ch, text)) {
            throw new NpyFormatException(file + ": truncated .npy header (" + headerLength + " bytes announced, file has "
                    + ch.size() + " bytes)");
        }
        String dict = new String(text.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        long dataOffset = 8 + len.capacity() + headerLength;
        return fromDict(file, major, minor, dict, dataOffset);
    }

    static NpyHeader fromDict(Path file, int major, int minor, String dict, long dataOffset) {
        Map<String, Object> header = HeaderParser.parseDict(dict.strip(), file);
        Object descr = header.get("descr");
        Object fortran = header.get("fortran_order");
        Object shape = header.get("shape");
        if (descr == null || fortran == null || shape == null) {
            throw new NpyFormatException(file + ": .npy header lacks 'descr', 'fortran_order' or 'shape': " + dict.strip());
        }
        if (descr instanceof List<?>) {
            throw new NpyFormatException(file + ": structured arrays (dtype " + descr + ") are not supported; "
                    + "save one plain numeric array per file");
        }
        if (!(descr instanceof String d)) {
            throw new NpyFormatException(file + ": 'descr' must be a string, got " + descr);
        }
        NpyDtype dtype = NpyDtype.parse(d, file.toString());
        if (!(fortran instanceof Boolean f)) {
            throw new NpyFormatException(file + ": 'fortran_order' must be True or False, got " + fortran);
        }
        if (f) {
            throw new NpyFormatException(file + ": Fortran-order (column-major) arrays are not supported; save a "
                    + "C-order copy, e.g. np.save(path, np.ascontiguousarray(x))");
        }
        if (!(shape instanceof HeaderParser.Tuple t)) {
            throw new NpyFormatException(file + ": 'shape' must be a tuple of integers, got " + shape);
        }
        long[] dims = new long[t.items().size()];
        for (int i = 0; i < dims.length; i++) {
            if (!(t.items().get(i) instanceof Long dim) || dim < 0) {
                throw new NpyFormatException(file + ": 'shape' must be a tuple of non-negative integers, got " + t);
            }
            dims[i] = dim;
        }
        NpyHeader h = new NpyHeader(file, major, minor, dtype, dims, dataOffset);
        try {
            h.dataBytes();
        } catch (ArithmeticException e) {
            throw new NpyFormatException(file + ": shape " + t + " is too large");
        }
        return h;
    }

    private static boolean readFully(FileChannel ch, ByteBuffer dst) throws IOException {
        while (dst.hasRemaining()) {
            if (ch.read(dst) < 0) {
                return false;
            }
        }
        return true;
    }

    /** The shape as NumPy prints it, e.g. {@code (60000, 28, 28)}. */
    public String shapeString() {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            b.append(i == 0 ? "" : ", ").append(shape[i]);
        }
        return b.append(shape.length == 1 ? ",)" : ")").toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NpyHeader h && h.file.equals(file) && h.major == major && h.minor == minor
                && h.dtype == dtype && java.util.Arrays.equals(h.shape, shape) && h.dataOffset == dataOffset;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(file, major, minor, dtype, java.util.Arrays.hashCode(shape), dataOffset);
    }

    @Override
    public String toString() {
        return "NpyHeader[" + file + ", v" + major + "." + minor + ", " + dtype.descr() + ", " + shapeString() + "]";
    }
}
