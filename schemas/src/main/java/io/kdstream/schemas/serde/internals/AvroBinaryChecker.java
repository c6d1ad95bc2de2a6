package io.kdstream.schemas.serde.internals;

import org.apache.avro.Schema;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Walks Avro binary data against its writer schema without building anything, and rejects it unless it is exactly
 * one well-formed datum: every string, bytes, array and map length is checked against the bytes that remain
 * before it is used, so a few hostile bytes claiming gigabytes fail at once instead of making the decoder allocate.
 * Union branches and enum symbols are range-checked, varints must end within their size, and no bytes may trail.
 *
 * <p>Instances are immutable and thread-safe; one per writer schema is enough.
 */
public final class AvroBinaryChecker {

    /** Most items of zero encoded size (e.g. nulls) one record may claim; they cost no bytes to claim. */
    static final long MAX_ZERO_SIZE_ITEMS = 1_000_000L;
    /** Deepest nesting walked (recursive schemas); deeper data is rejected, not allowed to overflow the stack. */
    static final int MAX_DEPTH = 500;

    /** Thrown when the data is not a well-formed datum; the message says where and why. */
    public static final class MalformedDataException extends Exception {
        private static final long serialVersionUID = 1L;

        MalformedDataException(String message) {
            super(message);
        }
    }

    private static final Schema MAP_KEY = Schema.create(Schema.Type.STRING);

    private final Schema schema;
    private final Map<Schema, Integer> minSizes = new IdentityHashMap<>();

    public AvroBinaryChecker(Schema schema) {
        this.schema = schema;
        minSize(schema, new IdentityHashMap<>());
    }

    /** Checks that {@code data[offset, offset + length)} is exactly one datum of the schema. */
    public void check(byte[] data, int offset, int length) throws MalformedDataException {
        Cursor cursor = new Cursor(data, offset, offset + length);
        walk(schema, cursor, 0);
        if (cursor.pos != cursor.end) {
            throw new MalformedDataException((cursor.end - cursor.pos) + " trailing byte(s) after the record at offset "
                    + (cursor.pos - offset));
        }
    }

    private static final class Cursor {
        final byte[] data;
        final int start;
        final int end;
        int pos;
        long zeroSizeItems;

        Cursor(byte[] data, int start, int end) {
            this.data = data;
            this.start = start;
            this.end = end;
            this.pos = start;
        }

        int remaining() {
            return end - pos;
        }

        void need(long bytes, String what) throws MalformedDataException {
            if (bytes < 0 || bytes > remaining()) {
                throw new MalformedDataException(what + " needs " + bytes + " byte(s) but only " + remaining()
                        + " remain at offset " + (pos - start));
            }
        }

        long readLong() throws MalformedDataException {
            long raw = 0;
            int shift = 0;
            while (true) {
                if (pos >= end) {
                    throw new MalformedDataException("varint runs past the end at offset " + (pos - start));
                }
                int b = data[pos++] & 0xff;
                if (shift == 63 && (b & 0x7e) != 0) {
                    throw new MalformedDataException("varint overflows a long at offset " + (pos - start));
                }
                raw |= (long) (b & 0x7f) << shift;
                if ((b & 0x80) == 0) {
                    break;
                }
                shift += 7;
                if (shift > 63) {
                    throw new MalformedDataException("varint longer than 10 bytes at offset " + (pos - start));
                }
            }
            return (raw >>> 1) ^ -(raw & 1);
        }

        int readInt() throws MalformedDataException {
            int at = pos - start;
            long value = readLong();
            if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
                throw new MalformedDataException("int out of range at offset " + at + ": " + value);
            }
            return (int) value;
        }
    }

    private void walk(Schema s, Cursor c, int depth) throws MalformedDataException {
        if (depth > MAX_DEPTH) {
            throw new MalformedDataException("data nested deeper than " + MAX_DEPTH + " levels");
        }
        switch (s.getType()) {
            case NULL -> {
            }
            case BOOLEAN -> {
                c.need(1, "boolean");
                int b = c.data[c.pos++];
                if (b != 0 && b != 1) {
                    throw new MalformedDataException("boolean byte " + b + " at offset " + (c.pos - 1 - c.start));
                }
            }
            case INT -> c.readInt();
            case LONG -> c.readLong();
            case FLOAT -> skip(c, 4, "float");
            case DOUBLE -> skip(c, 8, "double");
            case STRING, BYTES -> {
                int at = c.pos - c.start;
                long length = c.readLong();
                if (length < 0) {
                    throw new MalformedDataException("negative " + s.getType().getName() + " length " + length
                            + " at offset " + at);
                }
                if (length > c.remaining()) { // the message is built only when it is needed: this runs per field
                    skip(c, length, s.getType().getName() + " of claimed length " + length);
                }
                c.pos += (int) length;
            }
            case FIXED -> {
                if (s.getFixedSize() > c.remaining()) {
                    skip(c, s.getFixedSize(), "fixed " + s.getFullName());
                }
                c.pos += s.getFixedSize();
            }
            case ENUM -> {
                int at = c.pos - c.start;
                int index = c.readInt();
                if (index < 0 || index >= s.getEnumSymbols().size()) {
                    throw new MalformedDataException("enum " + s.getFullName() + " index " + index + " out of range at "
                            + "offset " + at);
                }
            }
            case UNION -> {
                int at = c.pos - c.start;
                int index = c.readInt();
                if (index < 0 || index >= s.getTypes().size()) {
                    throw new MalformedDataException("union branch " + index + " out of range at offset " + at);
                }
                walk(s.getTypes().get(index), c, depth + 1);
            }
            case RECORD -> {
                for (Schema.Field field : s.getFields()) {
                    walk(field.schema(), c, depth + 1);
                }
            }
            case ARRAY -> walkBlocks(c, depth, null, s.getElementType(), minSizes.get(s.getElementType()));
            case MAP -> walkBlocks(c, depth, MAP_KEY, s.getValueType(),
                    1 + minSizes.get(s.getValueType()));
            default -> throw new MalformedDataException("unsupported schema type " + s.getType());
        }
    }

    private void walkBlocks(Cursor c, int depth, Schema keySchema, Schema itemSchema, int minItemBytes)
            throws MalformedDataException {
        while (true) {
            int at = c.pos - c.start;
            long count = c.readLong();
            if (count == 0) {
                return;
            }
            long blockBytes = -1;
            if (count < 0) {
                if (count == Long.MIN_VALUE) {
                    throw new MalformedDataException("block count overflows at offset " + at);
                }
                count = -count;
                blockBytes = c.readLong();
                c.need(blockBytes, "block of claimed byte size " + blockBytes);
            }
            if (minItemBytes > 0) {
                if (count > c.remaining() / minItemBytes) {
                    throw new MalformedDataException("block claims " + count + " items of at least " + minItemBytes
                            + " byte(s) each but only " + c.remaining() + " bytes remain at offset " + at);
                }
            } else {
                c.zeroSizeItems += count;
                if (c.zeroSizeItems > MAX_ZERO_SIZE_ITEMS) {
                    throw new MalformedDataException("more than " + MAX_ZERO_SIZE_ITEMS + " empty items claimed at "
                            + "offset " + at);
                }
            }
            int blockStart = c.pos;
            for (long i = 0; i < count; i++) {
                if (keySchema != null) {
                    walk(keySchema, c, depth + 1);
                }
                walk(itemSchema, c, depth + 1);
            }
            if (blockBytes >= 0 && c.pos - blockStart != blockBytes) {
                throw new MalformedDataException("block at offset " + at + " claims " + blockBytes + " bytes but holds "
                        + (c.pos - blockStart));
            }
        }
    }

    private static void skip(Cursor c, long bytes, String what) throws MalformedDataException {
        c.need(bytes, what);
        c.pos += (int) bytes;
    }

    /** Fewest bytes any datum of {@code s} encodes to; recursion through a record counts as 0 (safe lower bound). */
    private int minSize(Schema s, Map<Schema, Boolean> visiting) {
        Integer known = minSizes.get(s);
        if (known != null) {
            return known;
        }
        if (visiting.containsKey(s)) {
            return 0;
        }
        visiting.put(s, Boolean.TRUE);
        int size = switch (s.getType()) {
            case NULL -> 0;
            case BOOLEAN, INT, LONG, ENUM, STRING, BYTES -> 1;
            case FLOAT -> 4;
            case DOUBLE -> 8;
            case FIXED -> s.getFixedSize();
            case UNION -> {
                for (Schema branch : s.getTypes()) {
                    minSize(branch, visiting);
                }
                yield 1;
            }
            case RECORD -> {
                long sum = 0;
                for (Schema.Field field : s.getFields()) {
                    sum += minSize(field.schema(), visiting);
                }
                yield (int) Math.min(sum, Integer.MAX_VALUE / 2);
            }
            case ARRAY -> {
                minSize(s.getElementType(), visiting);
                yield 1;
            }
            case MAP -> {
                minSize(s.getValueType(), visiting);
                yield 1;
            }
        };
        visiting.remove(s);
        minSizes.put(s, size);
        return size;
    }
}
