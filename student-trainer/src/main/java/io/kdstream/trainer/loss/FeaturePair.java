package io.kdstream.trainer.loss;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

/**
 * A student feature map paired with the teacher feature map of the same stride.
 *
 * @param student the student's map
 * @param teacher the teacher's map
 */
public record FeaturePair(FeatureDescriptor student, FeatureDescriptor teacher) {

    public FeaturePair {
        Objects.requireNonNull(student, "student");
        Objects.requireNonNull(teacher, "teacher");
        if (student.stride() != teacher.stride()) {
            throw new IllegalArgumentException("paired features must share a stride: " + student + " vs " + teacher);
        }
        if (student.spatial()) {
            resizeFactor(student.height(), teacher.height());
            resizeFactor(student.width(), teacher.width());
        }
    }

    /** Adapter name, unique per pair: {@code studentName->teacherName}. */
    public String adapterName() {
        return student.name() + "->" + teacher.name();
    }

    /**
     * Pairs each teacher map with the student map of the same stride, as read from the descriptors (nothing about the
     * architectures is assumed). Where several student maps share that stride, the last declared one (the deepest) is
     * taken. Teacher maps without a student map of their stride are left out. Pairs whose spatial sizes cannot be
     * reconciled by an integer pooling or repetition factor are rejected.
     *
     * @throws IllegalArgumentException when no pair at all can be formed
     */
    public static List<FeaturePair> byStride(List<FeatureDescriptor> student, Collection<FeatureDescriptor> teacher) {
        List<FeaturePair> pairs = new ArrayList<>();
        for (FeatureDescriptor t : teacher) {
            FeatureDescriptor match = null;
            for (FeatureDescriptor s : student) {
                if (s.stride() == t.stride()) {
                    match = s;
                }
            }
            if (match != null) {
                pairs.add(new FeaturePair(match, t));
            }
        }
        if (pairs.isEmpty()) {
            throw new IllegalArgumentException("no student feature shares a stride with any teacher feature: student "
                    + student + ", teacher " + teacher);
        }
        return List.copyOf(pairs);
    }

    /**
     * The factor resizing a student extent to the teacher's: positive {@code k} means average-pool by {@code k},
     * negative {@code -k} repeat each cell {@code k} times, 1 unchanged.
     */
    static int resizeFactor(int studentExtent, int teacherExtent) {
        if (studentExtent == teacherExtent) {
            return 1;
        }
        if (studentExtent > teacherExtent && studentExtent % teacherExtent == 0) {
            return studentExtent / teacherExtent;
        }
        if (teacherExtent > studentExtent && teacherExtent % studentExtent == 0) {
            return -(teacherExtent / studentExtent);
        }
        throw new IllegalArgumentException("cannot resize a spatial extent of " + studentExtent + " to " + teacherExtent
                + ": one must be an integer multiple of the other");
    }
}
