package io.kdstream.trainer.loss;

import ai.djl.ndarray.NDArray;

import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * One logit distillation term, the choice {@code kd.loss} names. A term is built once per run from its own settings
 * (see {@link Kind#keys()}) and computes a scalar loss per step; {@link DistillationLosses} maps the names to the kinds.
 *
 * <p>Adding a term is one class with a {@link Kind} and one line in {@link DistillationLosses}: the trainer's
 * configuration defines the kind's keys, validates them, and leaves them out of the training hash while they hold
 * their defaults (so checkpoints written before the term existed still resume).
 */
@FunctionalInterface
public interface DistillationLoss {

    /**
     * What a term sees at one step.
     *
     * @param student              student logits {@code [batch, classes]}, recording gradients
     * @param teacher              teacher logits {@code [batch, classes]} (never receives a gradient)
     * @param temperature          the temperature as a scalar array: learnt (CTKD) or the scheduled value
     * @param scheduledTemperature the scheduled temperature of this step
     * @param direction            the KL direction ({@code kd.kl.direction})
     * @param targets              class index per example {@code [batch]}: the label, or for an unlabelled example the
     *                             teacher's top class; built only when a term asks for it
     */
    record Inputs(NDArray student, NDArray teacher, NDArray temperature, double scheduledTemperature,
                  KlDirection direction, Supplier<NDArray> targets) {
        public Inputs {
            Objects.requireNonNull(student, "student");
            Objects.requireNonNull(teacher, "teacher");
            Objects.requireNonNull(temperature, "temperature");
            Objects.requireNonNull(direction, "direction");
            Objects.requireNonNull(targets, "targets");
        }
    }

    /** The term's scalar loss for one step. */
    NDArray compute(Inputs inputs);

    /**
     * A numeric setting a term owns: {@code name} (a {@code kd.*} key), its default, its lower bound and its doc.
     */
    record Key(String name, double defaultValue, double min, String doc) {
        public Key {
            if (!name.startsWith("kd.")) {
                throw new IllegalArgumentException("a distillation term's key lives under kd.*, got " + name);
            }
            if (defaultValue < min) {
                throw new IllegalArgumentException(name + ": default " + defaultValue + " below its minimum " + min);
            }
        }
    }

    /**
     * A kind of term: its {@code kd.loss} name, a one-line description for the docs, the keys it owns, whether CTKD
     * can learn its temperature, and how to build it from its settings.
     */
    record Kind(String name, String description, List<Key> keys, boolean learnableTemperature,
                Function<ToDoubleFunction<String>, DistillationLoss> factory) {
        public Kind {
            Objects.requireNonNull(name, "name");
            keys = List.copyOf(keys);
            Objects.requireNonNull(factory, "factory");
        }

        /** Builds the term, reading the values of its {@link #keys()} from {@code settings}. */
        public DistillationLoss create(ToDoubleFunction<String> settings) {
            return factory.apply(settings);
        }
    }
}
