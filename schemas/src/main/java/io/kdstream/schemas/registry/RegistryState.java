package io.kdstream.schemas.registry;

import org.apache.avro.Schema;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The rules of a Confluent-style schema registry over plain in-memory state: global ids, increasing and never
 * reused, the same schema text getting the same id under every subject; versions per subject from 1; compatibility
 * per subject with a global default ({@link CompatibilityLevel#DEFAULT}).
 *
 * <p>A registration is split into {@link #plan} (decide, check compatibility, change nothing) and {@link #apply}
 * (record it), so that a durable store can persist the planned registration before it is applied. Callers that plan
 * and apply must hold one lock across both; {@link #register} does so for the in-memory case. All methods are
 * thread-safe.
 */
public final class RegistryState {

    /** What {@link #plan} decided: the registration, and whether it is new (must be stored) or already exists. */
    public record Plan(RegisteredSchema registration, boolean isNew) {
        public Plan {
            Objects.requireNonNull(registration, "registration");
        }
    }

    private final Map<Integer, Schema> schemasById = new HashMap<>();
    private final Map<String, Integer> idsBySchemaText = new HashMap<>();
    private final TreeMap<String, List<RegisteredSchema>> subjects = new TreeMap<>();
    private final Map<String, CompatibilityLevel> subjectLevels = new HashMap<>();
    private CompatibilityLevel globalLevel = CompatibilityLevel.DEFAULT;
    private int nextId = 1;

    /**
     * Decides what registering {@code schema} under {@code subject} would do, without changing anything.
     *
     * @throws SchemaRegistryException {@link SchemaRegistryException#INCOMPATIBLE_SCHEMA} if the subject's
     *                                 compatibility level forbids it
     */
    public synchronized Plan plan(String subject, Schema schema) {
        requireSubject(subject);
        Objects.requireNonNull(schema, "schema");
        String text = schema.toString();
        List<RegisteredSchema> versions = subjects.getOrDefault(subject, List.of());
        for (RegisteredSchema existing : versions) {
            if (existing.schema().toString().equals(text)) {
                return new Plan(existing, false);
            }
        }
        CompatibilityLevel level = compatibility(subject);
        if (!level.allows(schema, schemasOf(versions))) {
            throw new SchemaRegistryException(SchemaRegistryException.INCOMPATIBLE_SCHEMA, 409,
                    "Schema being registered is incompatible with an earlier schema for subject '" + subject
                            + "' under compatibility level " + level);
        }
        int id = idsBySchemaText.getOrDefault(text, nextId);
        int version = versions.isEmpty() ? 1 : versions.get(versions.size() - 1).version() + 1;
        return new Plan(new RegisteredSchema(subject, version, id, schema), true);
    }

    /**
     * Records a registration (planned here or replayed from a store). Applying one that is already recorded does
     * nothing.
     *
     * @throws IllegalStateException if it contradicts what is recorded (another schema under that version or id)
     */
    public synchronized void apply(RegisteredSchema registration) {
        String text = registration.schema().toString();
        Schema byId = schemasById.get(registration.id());
        if (byId != null && !byId.toString().equals(text)) {
            throw new IllegalStateException("id " + registration.id() + " already names another schema");
        }
        Integer existingId = idsBySchemaText.get(text);
        if (existingId != null && existingId != registration.id()) {
            throw new IllegalStateException("schema already has id " + existingId + ", not " + registration.id());
        }
        List<RegisteredSchema> versions = subjects.computeIfAbsent(registration.subject(), s -> new ArrayList<>());
        for (RegisteredSchema existing : versions) {
            if (existing.version() == registration.version()) {
                if (existing.id() != registration.id()) {
                    throw new IllegalStateException("version " + registration.version() + " of subject '"
                            + registration.subject() + "' already has id " + existing.id());
                }
                return;
            }
        }
        versions.add(registration);
        versions.sort((a, b) -> Integer.compare(a.version(), b.version()));
        schemasById.put(registration.id(), registration.schema());
        idsBySchemaText.put(text, registration.id());
        nextId = Math.max(nextId, registration.id() + 1);
    }

    /** {@link #plan} then {@link #apply}, atomically; returns the registration (new or existing). */
    public synchronized RegisteredSchema register(String subject, Schema schema) {
        Plan plan = plan(subject, schema);
        if (plan.isNew()) {
            apply(plan.registration());
        }
        return plan.registration();
    }

    /** The schema with id {@code id}. */
    public synchronized Schema byId(int id) {
        Schema schema = schemasById.get(id);
        if (schema == null) {
            throw SchemaRegistryException.schemaNotFound("id " + id);
        }
        return schema;
    }

    /** The newest version of {@code subject}. */
    public synchronized RegisteredSchema latest(String subject) {
        List<RegisteredSchema> versions = versionsOrThrow(subject);
        return versions.get(versions.size() - 1);
    }

    /** Version {@code version} of {@code subject}. */
    public synchronized RegisteredSchema version(String subject, int version) {
        for (RegisteredSchema registration : versionsOrThrow(subject)) {
            if (registration.version() == version) {
                return registration;
            }
        }
        throw SchemaRegistryException.versionNotFound(subject, version);
    }

    /** The version numbers of {@code subject}, ascending. */
    public synchronized List<Integer> versions(String subject) {
        return versionsOrThrow(subject).stream().map(RegisteredSchema::version).toList();
    }

    /** The registration of {@code schema} under {@code subject}, without registering. */
    public synchronized RegisteredSchema lookup(String subject, Schema schema) {
        String text = schema.toString();
        for (RegisteredSchema registration : versionsOrThrow(subject)) {
            if (registration.schema().toString().equals(text)) {
                return registration;
            }
        }
        throw SchemaRegistryException.schemaNotFound("the schema is not registered under subject '" + subject + "'");
    }

    /** Whether {@code schema} may be registered under {@code subject} (true for a subject without versions). */
    public synchronized boolean isCompatible(String subject, Schema schema) {
        return compatibility(subject).allows(schema, schemasOf(subjects.getOrDefault(subject, List.of())));
    }

    /** All subjects, sorted. */
    public synchronized List<String> subjects() {
        return List.copyOf(subjects.keySet());
    }

    /** The level in force for {@code subject}: its own, else the global one. */
    public synchronized CompatibilityLevel compatibility(String subject) {
        return subjectLevels.getOrDefault(subject, globalLevel);
    }

    /** The level set on {@code subject} itself, if any. */
    public synchronized Optional<CompatibilityLevel> subjectCompatibility(String subject) {
        return Optional.ofNullable(subjectLevels.get(subject));
    }

    /** The global level. */
    public synchronized CompatibilityLevel globalCompatibility() {
        return globalLevel;
    }

    /** Sets the level of {@code subject}, or the global level when {@code subject} is null. */
    public synchronized void setCompatibility(String subject, CompatibilityLevel level) {
        Objects.requireNonNull(level, "level");
        if (subject == null) {
            globalLevel = level;
        } else {
            subjectLevels.put(subject, level);
        }
    }

    /** The id the next new schema will get. */
    public synchronized int nextId() {
        return nextId;
    }

    private List<RegisteredSchema> versionsOrThrow(String subject) {
        List<RegisteredSchema> versions = subjects.get(subject);
        if (versions == null || versions.isEmpty()) {
            throw SchemaRegistryException.subjectNotFound(subject);
        }
        return versions;
    }

    private static List<Schema> schemasOf(List<RegisteredSchema> versions) {
        return versions.stream().map(RegisteredSchema::schema).toList();
    }

    private static void requireSubject(String subject) {
        if (subject == null || subject.isBlank()) {
            throw new SchemaRegistryException(SchemaRegistryException.INVALID_SCHEMA, 422,
                    "subject must not be blank");
        }
    }
}
