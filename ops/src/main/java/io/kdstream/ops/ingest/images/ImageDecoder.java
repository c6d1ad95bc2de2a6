package io.kdstream.ops.ingest.images;

import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.stream.ImageInputStream;

/**
 * Decodes PNG and JPEG files with DJL's {@link ImageFactory} (java.awt underneath; works headless) into
 * channel-major {@code [C, H, W]} UINT8 pixels.
 *
 * <p>Channels: a grey image (one colour component, with or without alpha) is read from its raster as it is stored
 * (16-bit samples keep their top 8 bits), never through a colour-space conversion; a colour image (RGB, palette, CMYK
 * after the reader's conversion) is read as sRGB. For 3 output channels a grey image is replicated into R = G = B; for
 * 1 output channel a colour image becomes its luma {@code round(0.299 R + 0.587 G + 0.114 B)}. Alpha is dropped: the
 * stored colour of a transparent pixel is kept, nothing is composited onto a background.
 */
public final class ImageDecoder {

    private ImageDecoder() {
    }

    /** What an image header says: its size and whether it is grey. */
    public record Header(int width, int height, boolean grey) {
    }

    /**
     * Reads only the header of {@code file}.
     *
     * @throws IOException when no reader recognises the file or its header is corrupt
     */
    public static Header probe(Path file) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) {
                throw new IOException("cannot open " + file);
            }
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new IOException("not a PNG or JPEG image (no decoder recognises its bytes)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                int width = reader.getWidth(0);
                int height = reader.getHeight(0);
                ImageTypeSpecifier raw = reader.getRawImageType(0);
                boolean grey = raw != null && raw.getColorModel().getNumColorComponents() == 1;
                return new Header(width, height, grey);
            } catch (RuntimeException e) {
                throw new IOException("corrupt image header: " + e, e);
            } finally {
                reader.dispose();
            }
        }
    }

    /**
     * Decodes {@code file} into {@code channels} (1 or 3) planes, resized to {@code height × width} first when
     * {@code resize} is true (DJL's smooth scaling); otherwise the image keeps its size, which must then be
     * {@code height × width}.
     *
     * @throws IOException when the file cannot be decoded or has another size
     */
    public static byte[] decode(Path file, int channels, boolean resize, int height, int width) throws IOException {
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
        }
        Image image;
        try {
            image = ImageFactory.getInstance().fromFile(file);
        } catch (RuntimeException e) {
            throw new IOException("cannot decode: " + e, e);
        }
        BufferedImage decoded = (BufferedImage) image.getWrappedImage();
        boolean grey = decoded.getColorModel().getNumColorComponents() == 1;
        if (resize && (decoded.getWidth() != width || decoded.getHeight() != height)) {
            // DJL resizes into an image of the source's type, which must be a predefined one
            BufferedImage standard = decoded.getType() == BufferedImage.TYPE_CUSTOM ? standardType(decoded, grey) : decoded;
            decoded = (BufferedImage) ImageFactory.getInstance().fromImage(standard).resize(width, height, true)
                    .getWrappedImage();
            grey = decoded.getColorModel().getNumColorComponents() == 1;
        }
        if (decoded.getWidth() != width || decoded.getHeight() != height) {
            throw new IOException("is " + decoded.getHeight() + "x" + decoded.getWidth() + " (HxW), expected " + height
                    + "x" + width);
        }
        return grey ? greyPlanes(decoded, channels) : colourPlanes(decoded, channels);
    }

    private static byte[] greyPlanes(BufferedImage img, int channels) {
        int h = img.getHeight();
        int w = img.getWidth();
        Raster raster = img.getRaster();
        int shift = Math.max(0, img.getColorModel().getComponentSize(0) - 8);
        byte[] out = new byte[channels * h * w];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            raster.getSamples(0, y, w, 1, 0, row);
            for (int x = 0; x < w; x++) {
                byte v = (byte) (row[x] >>> shift);
                for (int c = 0; c < channels; c++) {
                    out[(c * h + y) * w + x] = v;
                }
            }
        }
        return out;
    }

    private static byte[] colourPlanes(BufferedImage img, int channels) {
        int h = img.getHeight();
        int w = img.getWidth();
        int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
        byte[] out = new byte[channels * h * w];
        int plane = h * w;
        for (int i = 0; i < plane; i++) {
            int p = argb[i];
            int r = (p >>> 16) & 0xff;
            int g = (p >>> 8) & 0xff;
            int b = p & 0xff;
            if (channels == 3) {
                out[i] = (byte) r;
                out[plane + i] = (byte) g;
                out[2 * plane + i] = (byte) b;
            } else {
                out[i] = (byte) Math.round(0.299 * r + 0.587 * g + 0.114 * b);
            }
        }
        return out;
    }

    /** A copy in a predefined type: 8-bit grey for grey images (samples copied, no colour conversion), else ARGB. */
    private static BufferedImage standardType(BufferedImage img, boolean grey) {
        int w = img.getWidth();
        int h = img.getHeight();
        if (grey) {
            BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
            byte[] planes = greyPlanes(img, 1);
            WritableRaster raster = out.getRaster();
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    row[x] = planes[y * w + x] & 0xff;
                }
                raster.setSamples(0, y, w, 1, 0, row);
            }
            return out;
        }
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_ARGB);
        out.setRGB(0, 0, w, h, img.getRGB(0, 0, w, h, null, 0, w), 0, w);
        return out;
    }
}
