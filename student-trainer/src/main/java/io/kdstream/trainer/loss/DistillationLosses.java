package io.kdstream.trainer.loss;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/** The registry of logit distillation terms by their {@code kd.loss} name. */
public final class DistillationLosses {
    private static final Map<String, DistillationLoss.Kind> KINDS = new LinkedHashMap<>();

    static {
        register(HintonKd.KIND);
        register(StandardizedKd.KIND);
        register(DecoupledKd.KIND);
        register(BinaryKd.KIND);
    }

    private DistillationLosses() {
    }

    private static void register(DistillationLoss.Kind kind) {
        if (KINDS.putIfAbsent(kind.name(), kind) != null) {
            throw new IllegalStateException("two distillation terms named " + kind.name());
        }
        for (DistillationLoss.Key key : kind.keys()) {
            for (DistillationLoss.Kind other : KINDS.values()) {
                if (other != kind && other.keys().stream().anyMatch(k -> k.name().equals(key.name()))) {
                    throw new IllegalStateException(key.name() + " is owned by both " + other.name() + " and " + kind.name());
                }
            }
        }
    }

    /** Every kind, in registration order. */
    public static List<DistillationLoss.Kind> kinds() {
        return List.copyOf(KINDS.values());
    }

    /** The registered names, in registration order. */
    public static List<String> names() {
        return Collections.unmodifiableList(new ArrayList<>(KINDS.keySet()));
    }

    /** The kind named {@code name}; an {@link IllegalArgumentException} naming the choices when there is none. */
    public static DistillationLoss.Kind kind(String name) {
        DistillationLoss.Kind kind = KINDS.get(name);
        if (kind == null) {
            throw new IllegalArgumentException("unknown distillation term '" + name + "'; known: " + names());
        }
        return kind;
    }

    /** Builds the term named {@code name} from {@code settings}. */
    public static DistillationLoss create(String name, ToDoubleFunction<String> settings) {
        return kind(name).create(settings);
    }

    /** The keys every registered term owns, in registration order. */
    public static List<DistillationLoss.Key> keys() {
        List<DistillationLoss.Key> out = new ArrayList<>();
        KINDS.values().forEach(k -> out.addAll(k.keys()));
        return out;
    }
}
