package io.kdstream.teacher.validate;

import io.kdstream.core.KdException;
import io.kdstream.core.djl.TensorBridge;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.teacher.BatchOutput;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.TeacherPredictor;

/** Scores a teacher on a labelled split, so that students are never distilled from a broken teacher. */
public final class TeacherValidator {

    private static final int BATCH = 500;

    private TeacherValidator() {
    }

    /**
     * Accuracy of {@code teacher} on all of {@code data}.
     *
     * @throws KdException when the teacher's input or class count does not fit the data
     */
    public static ValidationResult validate(Teacher teacher, FashionMnist data, double floor) {
        return validate(teacher, data, floor, 0);
    }

    /**
     * Accuracy of {@code teacher} on the first {@code limit} images of {@code data} (all of them when {@code limit} is
     * 0 or at least the data's size): a quick check, e.g. of a freshly trained small teacher.
     *
     * @throws KdException when the teacher's input or class count does not fit the data
     * @throws IllegalArgumentException when {@code limit} is negative
     */
    public static ValidationResult validate(Teacher teacher, FashionMnist data, double floor, int limit) {
        if (limit < 0) {
            throw new IllegalArgumentException("limit must be >= 0 (0 = all images), got " + limit);
        }
        int size = data.imageSize();
        if (teacher.metadata().inputSize() != size || teacher.metadata().numClasses() != FashionMnist.NUM_CLASSES) {
            throw new KdException(teacher.info().name() + " takes " + teacher.metadata().inputShape() + " with "
                    + teacher.metadata().numClasses() + " classes; the data is " + data.rows() + "x" + data.cols()
                    + " with " + FashionMnist.NUM_CLASSES + " classes");
        }
        int count = limit == 0 ? data.size() : Math.min(limit, data.size());
        long correct = 0;
        byte[] pixels = data.pixels();
        float[] batch = new float[BATCH * size];
        try (TeacherPredictor predictor = teacher.newPredictor()) {
            for (int from = 0; from < count; from += BATCH) {
                int n = Math.min(BATCH, count - from);
                for (int j = 0, base = from * size; j < n * size; j++) {
                    batch[j] = (pixels[base + j] & 0xff) / TensorBridge.UINT8_MAX;
                }
                BatchOutput out = predictor.predict(batch, n);
                for (int i = 0; i < n; i++) {
                    if (out.argmax(i) == data.label(from + i)) {
                        correct++;
                    }
                }
            }
        }
        return new ValidationResult(count == 0 ? 0 : (double) correct / count, count, floor);
    }
}
