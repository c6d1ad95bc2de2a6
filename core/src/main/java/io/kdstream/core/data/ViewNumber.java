package io.kdstream.core.data;

import java.util.Map;

/**
 * The view number a teacher output carries in its attributes ({@value #ATTRIBUTE}; see {@code teacher.views.per.input}):
 * 0 for the input itself and for outputs without views. The teacher-service writes it and the companion feature
 * record repeats it, so a reader can check that an output and its feature maps belong together.
 */
public final class ViewNumber {
    /** The attribute holding the view number. */
    public static final String ATTRIBUTE = "kd.view";

    private ViewNumber() {
    }

    /** The view number in {@code attributes}; 0 when absent, -1 when it is not a number. */
    public static int of(Map<String, String> attributes) {
        String v = attributes == null ? null : attributes.get(ATTRIBUTE);
        if (v == null) {
            return 0;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
