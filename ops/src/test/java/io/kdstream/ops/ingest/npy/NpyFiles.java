package io.kdstream.ops.ingest.npy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes {@code .npy} files for tests the way {@code numpy.save} lays them out (header padded to 64 bytes). */
public final class NpyFiles {

    private NpyFiles() {
    }

    /** Writes a file of format {@code version} (1, 2 or 3) with the given header fields and raw data bytes. */
    public static Path write(Path file, int version, String descr, boolean fortran, long[] shape, byte[] data)
            throws IOException {
        return writeHeader(file, version, header(descr, fortran, shape), data);
    }

    /** Writes a file whose header dict is {@code dict} as it stands. */
    public static Path writeHeader(Path file, int version, String dict, byte[] data) throws IOException {
        byte[] text = dict.getBytes(version == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        int prefix = 6 + 2 + (version == 1 ? 2 : 4);
        int total = prefix + text.length + 1;
        int padded = (total + 63) / 64 * 64;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x93);
        out.writeBytes("NUMPY".getBytes(StandardCharsets.US_ASCII));
        out.write(version);
        out.write(0);
        int headerLength = padded - prefix;
        ByteBuffer len = ByteBuffer.allocate(version == 1 ? 2 : 4).order(ByteOrder.LITTLE_ENDIAN);
        if (version == 1) {
            len.putShort((short) headerLength);
        } else {
            len.putInt(headerLength);
        }
        out.writeBytes(len.array());
        out.writeBytes(text);
        for (int i = total; i < padded; i++) {
            out.write(' ');
        }
        out.write('\n');
        out.writeBytes(data);
        Files.write(file, out.toByteArray());
        return file;
    }

    public static String header(String descr, boolean fortran, long[] shape) {
        StringBuilder s = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            s.append(i == 0 ? "" : ", ").append(shape[i]);
        }
        s.append(shape.length == 1 ? ",)" : ")");
        return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + s + ", }";
    }

    public static byte[] floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return b.array();
    }

    public static byte[] longs(long... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return b.array();
    }

    public static byte[] ints(int... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(values);
        return b.array();
    }
}
