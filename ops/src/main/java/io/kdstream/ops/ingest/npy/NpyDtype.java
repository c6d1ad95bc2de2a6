package io.kdstream.ops.ingest.npy;

import io.kdstream.avro.DType;

import java.util.Locale;

/**
 * The NumPy element types kdstream reads, all little-endian ({@code '<'}, or {@code '|'} for single bytes). The first
 * five are tensor element types; the other integer types are read for labels only.
 */
public enum NpyDtype {
    UINT8("u", 1, DType.UINT8),
    FLOAT32("f", 4, DType.FLOAT32),
    FLOAT16("f", 2, DType.FLOAT16),
    INT32("i", 4, DType.INT32),
    INT64("i", 8, DType.INT64),
    INT8("i", 1, null),
    INT16("i", 2, null),
    UINT16("u", 2, null),
    UINT32("u", 4, null),
    UINT64("u", 8, null);

    private final String kind;
    private final int size;
    private final DType tensorType;

    NpyDtype(String kind, int size, DType tensorType) {
        this.kind = kind;
        this.size = size;
        this.tensorType = tensorType;
    }

    /** Bytes per element. */
    public int size() {
        return size;
    }

    /** Whether the elements are integers (usable as labels). */
    public boolean isInteger() {
        return !kind.equals("f");
    }

    /** The tensor element type of the wire format, or null when this type is read for labels only. */
    public DType tensorType() {
        return tensorType;
    }

    /** The NumPy spelling, e.g. {@code <f4}. */
    public String descr() {
        return (size == 1 ? "|" : "<") + kind + size;
    }

    /**
     * The type of a {@code descr} string such as {@code <f4} or {@code |u1}.
     *
     * @throws NpyFormatException for big-endian, object, string, boolean, complex or other unsupported types
     */
    public static NpyDtype parse(String descr, String file) {
        if (descr.length() < 2) {
            throw unsupported(descr, file, "");
        }
        char order = descr.charAt(0);
        String rest = "<>|=".indexOf(order) >= 0 ? descr.substring(1) : descr;
        if (rest.startsWith("O")) {
            throw new NpyFormatException(file + ": object arrays (dtype '" + descr + "') cannot be read without Python; "
                    + "save a numeric array (e.g. np.stack of equally shaped examples)");
        }
        NpyDtype match = null;
        for (NpyDtype t : values()) {
            if (rest.equals(t.kind + t.size)) {
                match = t;
            }
        }
        if (match == null) {
            throw unsupported(descr, file, "");
        }
        if (order == '>' && match.size > 1) {
            throw new NpyFormatException(file + ": big-endian data (dtype '" + descr + "') is not supported; save it "
                    + "little-endian, e.g. x.astype(x.dtype.newbyteorder('<'))");
        }
        if (order == '=' && !java.nio.ByteOrder.nativeOrder().equals(java.nio.ByteOrder.LITTLE_ENDIAN) && match.size > 1) {
            throw unsupported(descr, file, " (native byte order of a big-endian machine)");
        }
        return match;
    }

    private static NpyFormatException unsupported(String descr, String file, String why) {
        return new NpyFormatException(String.format(Locale.ROOT, "%s: dtype '%s'%s is not supported; use uint8 (|u1), "
                + "float32 (<f4), float16 (<f2), int32 (<i4) or int64 (<i8)", file, descr, why));
    }
}
