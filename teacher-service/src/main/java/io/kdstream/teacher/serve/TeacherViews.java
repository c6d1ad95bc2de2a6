package io.kdstream.teacher.serve;

import io.kdstream.avro.DType;
import io.kdstream.avro.Tensor;
import io.kdstream.core.data.LabelSelection;
import io.kdstream.schemas.tensor.TensorCodec;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Teacher-labelled views ("consistent teaching"): per input, the teacher-service labels {@code count} views and
 * publishes each as its own output carrying the exact view tensor it scored, so the student trains on exactly what the
 * teacher saw and a replay needs nothing but the topic. View 0 is the input itself; view {@code k > 0} is a translation
 * by ({@code dx}, {@code dy}) pixels with zero fill, optionally mirrored left-right, with parameters drawn from a
 * generator seeded by (input id, k, seed) — a pure function, so a re-served input gets the same views.
 *
 * @param count    views per input, at least 1 (1 = the input alone, as without views)
 * @param maxShift largest translation in pixels along each axis
 * @param flip     whether a view may be mirrored left-right (each with probability 1/2)
 * @param seed     seed of the view parameters
 */
public record TeacherViews(int count, int maxShift, boolean flip, long seed) {

    /** One view per input: the input itself. */
    public static final TeacherViews NONE = new TeacherViews(1, 0, false, 0);

    /** Attribute names under which an output carries its view's parameters. */
    public static final String VIEW_ATTRIBUTE = io.kdstream.core.data.ViewNumber.ATTRIBUTE;
    public static final String VIEWS_ATTRIBUTE = "kd.view.count";
    public static final String DX_ATTRIBUTE = "kd.view.dx";
    public static final String DY_ATTRIBUTE = "kd.view.dy";
    public static final String FLIP_ATTRIBUTE = "kd.view.flip";

    public TeacherViews {
        if (count < 1 || maxShift < 0) {
            throw new IllegalArgumentException("views need count >= 1 and maxShift >= 0, got " + count + ", " + maxShift);
        }
    }

    /** Whether more than the input itself is published. */
    public boolean enabled() {
        return count > 1;
    }

    /**
     * The parameters of one view.
     *
     * @param index view number, 0 for the input itself
     * @param dx    translation to the right, pixels
     * @param dy    translation down, pixels
     * @param flip  mirrored left-right (before the translation)
     */
    public record View(int index, int dx, int dy, boolean flip) {

        /** The input itself. */
        public static final View IDENTITY = new View(0, 0, 0, false);

        public boolean identity() {
            return dx == 0 && dy == 0 && !flip;
        }

        /** The parameters as output attributes. */
        public Map<String, String> attributes(int count) {
            return Map.of(VIEW_ATTRIBUTE, Integer.toString(index), VIEWS_ATTRIBUTE, Integer.toString(count),
                    DX_ATTRIBUTE, Integer.toString(dx), DY_ATTRIBUTE, Integer.toString(dy), FLIP_ATTRIBUTE, Boolean.toString(flip));
        }

        /** Reads {@link #attributes}; the identity when the output carries no view. */
        public static View fromAttributes(Map<String, String> attributes) {
            String index = attributes.get(VIEW_ATTRIBUTE);
            if (index == null) {
                return IDENTITY;
            }
            return new View(Integer.parseInt(index), Integer.parseInt(attributes.get(DX_ATTRIBUTE)),
                    Integer.parseInt(attributes.get(DY_ATTRIBUTE)), Boolean.parseBoolean(attributes.get(FLIP_ATTRIBUTE)));
        }

        /**
         * Applies the view to {@code c × h × w} values in {@code src} (row-major), writing {@code dst} from
         * {@code offset}; pixels shifted in from outside the image are 0.
         */
        public void apply(float[] src, int c, int h, int w, float[] dst, int offset) {
            for (int ch = 0; ch < c; ch++) {
                int plane = ch * h * w;
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        int from = sourceIndex(x, y, h, w);
                        dst[offset + plane + y * w + x] = from < 0 ? 0f : src[plane + from];
                    }
                }
            }
        }

        /** As {@link #apply(float[], int, int, int, float[], int)} for 8-bit pixels. */
        public byte[] apply(byte[] src, int c, int h, int w) {
            byte[] dst = new byte[src.length];
            for (int ch = 0; ch < c; ch++) {
                int plane = ch * h * w;
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        int from = sourceIndex(x, y, h, w);
                        dst[plane + y * w + x] = from < 0 ? 0 : src[plane + from];
                    }
                }
            }
            return dst;
        }

        /** Index within a plane of the source pixel that lands on ({@code x}, {@code y}), or -1 for zero fill. */
        private int sourceIndex(int x, int y, int h, int w) {
            int sx = x - dx;
            int sy = y - dy;
            if (sx < 0 || sx >= w || sy < 0 || sy >= h) {
                return -1;
            }
            if (flip) {
                sx = w - 1 - sx;
            }
            return sy * w + sx;
        }
    }

    /** The parameters of view {@code index} of the input with this id. */
    public View view(String inputId, int index) {
        if (index == 0) {
            return View.IDENTITY;
        }
        long h = 0xcbf29ce484222325L;
        for (byte b : inputId.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xFF)) * 0x100000001b3L;
        }
        SplittableRandom random = new SplittableRandom(LabelSelection.mix(LabelSelection.mix(h ^ seed) + index));
        int dx = maxShift == 0 ? 0 : random.nextInt(-maxShift, maxShift + 1);
        int dy = maxShift == 0 ? 0 : random.nextInt(-maxShift, maxShift + 1);
        boolean mirrored = flip && random.nextBoolean();
        return new View(index, dx, dy, mirrored);
    }

    /**
     * The tensor of a view of {@code input}: 8-bit inputs stay 8-bit (the view is exact), any other type becomes the
     * FLOAT32 model input of the view, {@code modelInput} (already in the model's scale).
     *
     * @param chw the model's input shape {@code [c, h, w]}
     */
    public static Tensor viewTensor(Tensor input, View view, List<Integer> chw, float[] modelInput, int offset, int size) {
        int c = chw.get(0);
        int h = chw.get(1);
        int w = chw.get(2);
        int[] shape = input.getShape().stream().mapToInt(Integer::intValue).toArray();
        if (input.getDtype() == DType.UINT8) {
            return TensorCodec.fromUint8(view.apply(TensorCodec.toUint8("input", input), c, h, w), shape);
        }
        float[] values = java.util.Arrays.copyOfRange(modelInput, offset, offset + size);
        return TensorCodec.fromFloats(values, DType.FLOAT32, shape);
    }
}
