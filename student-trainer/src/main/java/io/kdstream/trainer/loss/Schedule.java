package io.kdstream.trainer.loss;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A value as a pure function of the training step (from 0): temperature, alpha, learning rate or the CTKD reversal
 * strength. Being pure, a schedule's state is the step alone, which the checkpoint holds.
 *
 * <p>Text form (the config value): {@code constant:V}, {@code linear:FROM:TO:STEPS}, {@code rising:TO:STEPS} (a
 * half-cosine ramp from 0 to TO over STEPS, then TO), {@code step:V0,V1@S1,V2@S2,...} (V0 until step S1, then V1 until
 * S2, ...). A plain number is a constant.
 */
public sealed interface Schedule permits Schedule.Constant, Schedule.Linear, Schedule.Rising, Schedule.Step {

    /** The value at {@code step} (0-based). */
    double valueAt(long step);

    /** The canonical text form; {@code parse(spec())} equals this schedule. */
    String spec();

    static Schedule constant(double value) {
        return new Constant(value);
    }

    /** Parses the text form described on {@link Schedule}. */
    static Schedule parse(String text) {
        Objects.requireNonNull(text, "schedule");
        String s = text.trim().toLowerCase(Locale.ROOT);
        try {
            if (!s.contains(":")) {
                return new Constant(Double.parseDouble(s));
            }
            String kind = s.substring(0, s.indexOf(':'));
            String[] args = s.substring(s.indexOf(':') + 1).split(":");
            return switch (kind) {
                case "constant" -> {
                    requireArgs(text, args, 1);
                    yield new Constant(Double.parseDouble(args[0]));
                }
                case "linear" -> {
                    requireArgs(text, args, 3);
                    yield new Linear(Double.parseDouble(args[0]), Double.parseDouble(args[1]), Long.parseLong(args[2]));
                }
                case "rising" -> {
                    requireArgs(text, args, 2);
                    yield new Rising(Double.parseDouble(args[0]), Long.parseLong(args[1]));
                }
                case "step" -> {
                    requireArgs(text, args, 1);
                    yield parseStep(args[0]);
                }
                default -> throw new IllegalArgumentException("unknown schedule kind '" + kind + "'");
            };
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Invalid schedule '" + text + "': " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Invalid schedule '" + text + "': " + e.getMessage()
                    + " (expected constant:V, linear:FROM:TO:STEPS, rising:TO:STEPS or step:V0,V1@S1,...)", e);
        }
    }

    private static void requireArgs(String text, String[] args, int n) {
        if (args.length != n) {
            throw new IllegalArgumentException("expected " + n + " argument(s), got " + args.length);
        }
    }

    private static Step parseStep(String body) {
        String[] parts = body.split(",");
        double initial = Double.parseDouble(parts[0]);
        List<Long> at = new ArrayList<>();
        List<Double> values = new ArrayList<>();
        for (int i = 1; i < parts.length; i++) {
            String[] vs = parts[i].split("@");
            if (vs.length != 2) {
                throw new IllegalArgumentException("step entry '" + parts[i] + "' must be VALUE@STEP");
            }
            values.add(Double.parseDouble(vs[0]));
            at.add(Long.parseLong(vs[1]));
        }
        return new Step(initial, at, values);
    }

    /** The same value at every step. */
    record Constant(double value) implements Schedule {
        public Constant {
            requireFinite(value);
        }

        @Override
        public double valueAt(long step) {
            return value;
        }

        @Override
        public String spec() {
            return "constant:" + value;
        }
    }

    /** Linear from {@code from} at step 0 to {@code to} at step {@code steps}, then {@code to}. */
    record Linear(double from, double to, long steps) implements Schedule {
        public Linear {
            requireFinite(from);
            requireFinite(to);
            if (steps <= 0) {
                throw new IllegalArgumentException("steps must be > 0, got " + steps);
            }
        }

        @Override
        public double valueAt(long step) {
            double f = Math.min(1.0, Math.max(0, step) / (double) steps);
            return from + (to - from) * f;
        }

        @Override
        public String spec() {
            return "linear:" + from + ":" + to + ":" + steps;
        }
    }

    /** Half-cosine ramp from 0 at step 0 to {@code to} at step {@code steps}, then {@code to}. */
    record Rising(double to, long steps) implements Schedule {
        public Rising {
            requireFinite(to);
            if (steps <= 0) {
                throw new IllegalArgumentException("steps must be > 0, got " + steps);
            }
        }

        @Override
        public double valueAt(long step) {
            double f = Math.min(1.0, Math.max(0, step) / (double) steps);
            return to * (1 - Math.cos(Math.PI * f)) / 2;
        }

        @Override
        public String spec() {
            return "rising:" + to + ":" + steps;
        }
    }

    /** Piecewise constant: {@code initial} until {@code at[0]}, then {@code values[0]} until {@code at[1]}, ... */
    record Step(double initial, List<Long> at, List<Double> values) implements Schedule {
        public Step {
            requireFinite(initial);
            at = List.copyOf(at);
            values = List.copyOf(values);
            if (at.size() != values.size()) {
                throw new IllegalArgumentException("step boundaries and values differ in number");
            }
            long previous = 0;
            for (int i = 0; i < at.size(); i++) {
                if (at.get(i) <= previous) {
                    throw new IllegalArgumentException("step boundaries must be > 0 and increasing, got " + at);
                }
                previous = at.get(i);
                requireFinite(values.get(i));
            }
        }

        @Override
        public double valueAt(long step) {
            double v = initial;
            for (int i = 0; i < at.size() && step >= at.get(i); i++) {
                v = values.get(i);
            }
            return v;
        }

        @Override
        public String spec() {
            StringBuilder sb = new StringBuilder("step:").append(initial);
            for (int i = 0; i < at.size(); i++) {
                sb.append(',').append(values.get(i)).append('@').append(at.get(i));
            }
            return sb.toString();
        }
    }

    private static void requireFinite(double v) {
        if (!Double.isFinite(v)) {
            throw new IllegalArgumentException("schedule values must be finite, got " + v);
        }
    }
}
