package io.kdstream.streams.internals;

import java.util.Objects;

/**
 * A two-part key (run and trainer, or component and failure kind) encoded into one string without ambiguity:
 * {@code <length of first>:<first><second>}. Either part may contain any character.
 *
 * @param first  run id or component
 * @param second trainer id or failure kind
 */
public record SubjectKey(String first, String second) {

    public SubjectKey {
        Objects.requireNonNull(first, "first");
        Objects.requireNonNull(second, "second");
    }

    /** The encoded key. */
    public String encode() {
        return prefixOf(first) + second;
    }

    /** The prefix every encoded key whose first part is {@code first} starts with. */
    public static String prefixOf(String first) {
        return first.length() + ":" + first;
    }

    /** Decodes a key made by {@link #encode()}. */
    public static SubjectKey decode(String encoded) {
        Objects.requireNonNull(encoded, "encoded");
        int colon = encoded.indexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("not a subject key: " + encoded);
        }
        int length;
        try {
            length = Integer.parseInt(encoded.substring(0, colon));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a subject key: " + encoded, e);
        }
        int start = colon + 1;
        if (length < 0 || start + length > encoded.length()) {
            throw new IllegalArgumentException("not a subject key: " + encoded);
        }
        return new SubjectKey(encoded.substring(start, start + length), encoded.substring(start + length));
    }

    /** Human-readable form, {@code first/second}. */
    public String display() {
        return first + "/" + second;
    }
}
