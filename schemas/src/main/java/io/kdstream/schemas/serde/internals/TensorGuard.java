package io.kdstream.schemas.serde.internals;

import io.kdstream.avro.Tensor;
import io.kdstream.schemas.tensor.InvalidTensorException;
import io.kdstream.schemas.tensor.TensorCodec;
import org.apache.avro.Schema;
import org.apache.avro.generic.IndexedRecord;

import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Validates every {@link Tensor} inside a decoded record with {@link TensorCodec#validate(String, Tensor)}, naming
 * each by its field path (e.g. {@code features[2].map}). Schemas without a Tensor anywhere cost nothing.
 *
 * <p>Instances are immutable and thread-safe; one per reader schema is enough.
 */
public final class TensorGuard {

    private final Map<Schema, Boolean> holdsTensor = new IdentityHashMap<>();
    private final Schema schema;
    private final boolean active;

    public TensorGuard(Schema schema) {
        this.schema = schema;
        this.active = holds(schema, new IdentityHashMap<>());
    }

    /** Whether the schema can contain a Tensor at all. */
    public boolean active() {
        return active;
    }

    /**
     * Validates every tensor in {@code record}.
     *
     * @throws InvalidTensorException for the first inconsistent tensor
     */
    public void check(IndexedRecord record) {
        if (active) {
            visit(schema, record, "");
        }
    }

    private void visit(Schema schema, Object value, String path) {
        if (value == null || !holdsTensor.getOrDefault(schema, Boolean.FALSE)) {
            return;
        }
        switch (schema.getType()) {
            case RECORD -> {
                if (value instanceof Tensor tensor) {
                    TensorCodec.validate(path.isEmpty() ? "tensor" : path, tensor);
                    return;
                }
                if (value instanceof IndexedRecord record) {
                    for (Schema.Field field : schema.getFields()) {
                        visit(field.schema(), record.get(field.pos()),
                                path.isEmpty() ? field.name() : path + "." + field.name());
                    }
                }
            }
            case UNION -> {
                for (Schema branch : schema.getTypes()) {
                    if (branch.getType() != Schema.Type.NULL && holdsTensor.getOrDefault(branch, Boolean.FALSE)
                            && matches(branch, value)) {
                        visit(branch, value, path);
                        return;
                    }
                }
            }
            case ARRAY -> {
                if (value instanceof Collection<?> items) {
                    int i = 0;
                    for (Object item : items) {
                        visit(schema.getElementType(), item, path + "[" + i++ + "]");
                    }
                }
            }
            case MAP -> {
                if (value instanceof Map<?, ?> entries) {
                    for (Map.Entry<?, ?> entry : entries.entrySet()) {
                        visit(schema.getValueType(), entry.getValue(), path + "[" + entry.getKey() + "]");
                    }
                }
            }
            default -> {
            }
        }
    }

    private static boolean matches(Schema branch, Object value) {
        return switch (branch.getType()) {
            case RECORD -> value instanceof IndexedRecord record
                    && record.getSchema().getFullName().equals(branch.getFullName());
            case ARRAY -> value instanceof Collection<?>;
            case MAP -> value instanceof Map<?, ?>;
            default -> false;
        };
    }

    private boolean holds(Schema schema, Map<Schema, Boolean> visiting) {
        Boolean known = holdsTensor.get(schema);
        if (known != null) {
            return known;
        }
        if (visiting.containsKey(schema)) {
            return false;
        }
        visiting.put(schema, Boolean.TRUE);
        boolean result = switch (schema.getType()) {
            case RECORD -> {
                boolean any = Tensor.getClassSchema().getFullName().equals(schema.getFullName());
                for (Schema.Field field : schema.getFields()) {
                    any |= holds(field.schema(), visiting);
                }
                yield any;
            }
            case UNION -> {
                boolean any = false;
                for (Schema branch : schema.getTypes()) {
                    any |= holds(branch, visiting);
                }
                yield any;
            }
            case ARRAY -> holds(schema.getElementType(), visiting);
            case MAP -> holds(schema.getValueType(), visiting);
            default -> false;
        };
        visiting.remove(schema);
        holdsTensor.put(schema, result);
        return result;
    }
}
