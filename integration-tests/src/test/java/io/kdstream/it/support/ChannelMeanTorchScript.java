package io.kdstream.it.support;

import io.kdstream.core.model.ModelFormat;
import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.model.ModelStore;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes a parameter-free TorchScript module for tests, without Python (the same writer as the teacher-service unit
 * tests use; the modules do not share test code): {@code forward(image)} reshapes the input to
 * {@code [N, C, H * W]} (failing, like a real model, on any other element count) and returns the mean of every
 * channel, so its logits are {@code [N, C]} and easy to predict by hand. The
 * archive has the layout {@code torch.jit.save} writes (stored entries under one folder: the pickled module object,
 * its TorchScript source, an empty constants table and the format version), plus the metadata sidecar that declares
 * the input shape.
 */
public final class ChannelMeanTorchScript {

    private static final String CLASS_NAME = "ChannelMean";

    private ChannelMeanTorchScript() {
    }

    /** Writes {@code <dir>/<stem>.pt} and its sidecar {@code <stem>.json} for an input of {@code [c, h, w]}. */
    public static Path write(Path dir, String stem, int c, int h, int w) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(stem + ".pt");
        try (OutputStream out = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(out)) {
            stored(zip, stem + "/data.pkl", modulePickle());
            stored(zip, stem + "/code/__torch__.py", source(c, h * w).getBytes(StandardCharsets.UTF_8));
            stored(zip, stem + "/constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'});
            stored(zip, stem + "/version", "3\n".getBytes(StandardCharsets.UTF_8));
        }
        ModelMetadata meta = new ModelMetadata(ModelFormat.TORCHSCRIPT, "channel-mean", "1", List.of(c, h, w), c,
                List.of(), file.getFileName().toString(), "", Optional.empty(), Optional.empty());
        Files.writeString(ModelStore.sidecarOf(file), meta.toJson());
        return file;
    }

    private static String source(int channels, int pixels) {
        return "class " + CLASS_NAME + "(Module):\n"
                + "  __parameters__ = []\n"
                + "  __buffers__ = []\n"
                + "  training : bool\n"
                + "  _is_full_backward_hook : Optional[bool]\n"
                + "  def forward(self: __torch__." + CLASS_NAME + ",\n"
                + "    image: Tensor) -> Tensor:\n"
                + "    planes = torch.reshape(image, [-1, " + channels + ", " + pixels + "])\n"
                + "    return torch.mean(planes, [2])\n";
    }

    /** Pickle protocol 2 of the module object: {@code __torch__.ChannelMean} with {training: False, hook: None}. */
    private static byte[] modulePickle() {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        p.write(0x80);
        p.write(2);
        ascii(p, "c__torch__\n" + CLASS_NAME + "\n");
        p.write(')'); // EMPTY_TUPLE
        p.write(0x81); // NEWOBJ
        p.write('}'); // EMPTY_DICT
        p.write('('); // MARK
        unicode(p, "training");
        p.write(0x89); // NEWFALSE
        unicode(p, "_is_full_backward_hook");
        p.write('N'); // NONE
        p.write('u'); // SETITEMS
        p.write('b'); // BUILD
        p.write('.'); // STOP
        return p.toByteArray();
    }

    private static void unicode(ByteArrayOutputStream p, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        p.write('X');
        p.write(b.length);
        p.write(0);
        p.write(0);
        p.write(0);
        p.writeBytes(b);
    }

    private static void ascii(ByteArrayOutputStream p, String s) {
        p.writeBytes(s.getBytes(StandardCharsets.US_ASCII));
    }

    private static void stored(ZipOutputStream zip, String name, byte[] bytes) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(bytes.length);
        e.setCompressedSize(bytes.length);
        CRC32 crc = new CRC32();
        crc.update(bytes);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(bytes);
        zip.closeEntry();
    }
}
