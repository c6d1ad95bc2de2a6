package io.kdstream.trainer.loss;

import java.util.Locale;

/** Which Kullback-Leibler divergence the logit-distillation term minimises. */
public enum KlDirection {
    /** {@code KL(p_teacher ‖ p_student)}: mass-covering, the classic Hinton term. */
    FORWARD,
    /** {@code KL(p_student ‖ p_teacher)}: mode-seeking. */
    REVERSE;

    /** Parses {@code forward} or {@code reverse} (case-insensitive). */
    public static KlDirection parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("KL direction must be 'forward' or 'reverse', got '" + s + "'", e);
        }
    }
}
