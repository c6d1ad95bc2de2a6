package io.kdstream.schemas.registry;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;

import java.util.List;

/**
 * Confluent's compatibility levels, checked with Avro's {@link SchemaCompatibility}. BACKWARD: the new schema reads
 * data written with the previous one; FORWARD: the previous one reads data written with the new one; FULL: both.
 * The _TRANSITIVE variants check every earlier version instead of only the latest.
 */
public enum CompatibilityLevel {
    NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE;

    /** The level a registry applies when nothing was configured, as in Confluent's. */
    public static final CompatibilityLevel DEFAULT = BACKWARD;

    /**
     * Whether {@code candidate} may follow {@code existing} (oldest first) under this level.
     */
    public boolean allows(Schema candidate, List<Schema> existing) {
        if (this == NONE || existing.isEmpty()) {
            return true;
        }
        boolean transitive = name().endsWith("_TRANSITIVE");
        List<Schema> against = transitive ? existing : List.of(existing.get(existing.size() - 1));
        for (Schema previous : against) {
            if (!allowsPair(candidate, previous)) {
                return false;
            }
        }
        return true;
    }

    private boolean allowsPair(Schema candidate, Schema previous) {
        return switch (this) {
            case NONE -> true;
            case BACKWARD, BACKWARD_TRANSITIVE -> canRead(candidate, previous);
            case FORWARD, FORWARD_TRANSITIVE -> canRead(previous, candidate);
            case FULL, FULL_TRANSITIVE -> canRead(candidate, previous) && canRead(previous, candidate);
        };
    }

    /** Whether data written with {@code writer} can be read with {@code reader}. */
    public static boolean canRead(Schema reader, Schema writer) {
        return SchemaCompatibility.checkReaderWriterCompatibility(reader, writer).getType()
                == SchemaCompatibilityType.COMPATIBLE;
    }

    /** Parses a level name (case-insensitive). */
    public static CompatibilityLevel parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new SchemaRegistryException(SchemaRegistryException.INVALID_COMPATIBILITY_LEVEL, 422,
                    "Invalid compatibility level: " + name, e);
        }
    }
}
