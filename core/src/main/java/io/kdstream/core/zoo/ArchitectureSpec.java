package io.kdstream.core.zoo;

import io.kdstream.core.KdException;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Blocks;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.pooling.Pool;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A declarative student, built for any input shape and class count:
 *
 * <pre>
 *   mlp:H1[,H2...]            flatten, then a dense layer of Hi units + ReLU per entry, then dense(classes)
 *   cnn:C1[,C2...][:denseU]   per entry a block conv3x3(Ci, padding 1) + ReLU + maxpool 2x2, then flatten,
 *                             optionally dense(U) + ReLU, then dense(classes)
 * </pre>
 *
 * Feature taps, declared as {@link FeatureSpec}s so feature distillation pairs them with the teacher's by stride:
 * {@code mlp}: {@code hidden1 .. hidden(n-1)} and the last hidden layer {@code embedding}; {@code cnn}: {@code conv1 ..
 * convK} (the map after block i, stride 2^i) and, with a dense layer, {@code embedding}. The conv blocks have no batch
 * norm, so the trainable parameters are the whole state of the model (what checkpoints hold and trainer groups
 * average). A {@code cnn} needs an input {@code [C, H, W]} (an input {@code [H, W]} is read as one channel) whose
 * height and width stay at least 1 after every pooling; an {@code mlp} takes any shape.
 *
 * @param kind   {@code mlp} or {@code cnn}
 * @param layers hidden units per dense layer ({@code mlp}) or channels per conv block ({@code cnn})
 * @param dense  units of the dense layer after the conv blocks, 0 for none (always 0 for {@code mlp})
 */
public record ArchitectureSpec(Kind kind, List<Integer> layers, int dense) {

    /** The family of a spec. */
    public enum Kind { MLP, CNN }

    /** Largest width of a layer a spec accepts. */
    public static final int MAX_UNITS = 1 << 16;
    private static final String DENSE = "dense";

    public ArchitectureSpec {
        Objects.requireNonNull(kind, "kind");
        layers = List.copyOf(layers);
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("a spec needs at least one layer");
        }
        if (kind == Kind.MLP && dense != 0) {
            throw new IllegalArgumentException("an mlp has no separate dense layer");
        }
    }

    /** Whether {@code text} is meant as a spec (starts with {@code mlp:} or {@code cnn:}), as opposed to a zoo name. */
    public static boolean isSpec(String text) {
        return text != null && (text.startsWith("mlp:") || text.startsWith("cnn:"));
    }

    /**
     * Parses a spec.
     *
     * @throws KdException naming the spec and the part of it that is wrong
     */
    public static ArchitectureSpec parse(String text) {
        if (text == null || text.isBlank()) {
            throw new KdException("Empty student spec; expected mlp:H1,H2,... or cnn:C1,C2,...[:denseU]");
        }
        String s = text.strip();
        String[] parts = s.split(":", -1);
        String kind = parts[0];
        if (!kind.equals("mlp") && !kind.equals("cnn")) {
            throw bad(text, "'" + kind + "' is not a student kind (mlp or cnn)");
        }
        if (parts.length < 2 || parts[1].isEmpty()) {
            throw bad(text, kind.equals("mlp") ? "the hidden layers are missing (e.g. mlp:512,256)"
                    : "the conv channels are missing (e.g. cnn:32,64:dense128)");
        }
        String what = kind.equals("mlp") ? "hidden layer" : "conv channel count";
        List<Integer> layers = new ArrayList<>();
        for (String item : parts[1].split(",", -1)) {
            layers.add(positive(text, item, what));
        }
        if (kind.equals("mlp")) {
            if (parts.length > 2) {
                throw bad(text, "an mlp takes one list of hidden layers; '" + String.join(":", java.util.Arrays.copyOfRange(parts, 2,
                        parts.length)) + "' is extra");
            }
            return new ArchitectureSpec(Kind.MLP, layers, 0);
        }
        if (parts.length > 3) {
            throw bad(text, "'" + parts[3] + "' is extra; a cnn spec is cnn:C1,C2,...[:denseU]");
        }
        int dense = 0;
        if (parts.length == 3) {
            String d = parts[2];
            if (!d.startsWith(DENSE)) {
                throw bad(text, "'" + d + "' is not a dense layer; write it as denseU, e.g. dense128");
            }
            dense = positive(text, d.substring(DENSE.length()), "dense layer unit count");
        }
        return new ArchitectureSpec(Kind.CNN, layers, dense);
    }

    private static int positive(String text, String item, String what) {
        String v = item.strip();
        int n;
        try {
            n = Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw bad(text, "'" + item + "' is not a " + what + " (a positive integer)");
        }
        if (n < 1 || n > MAX_UNITS) {
            throw bad(text, what + " " + n + " is outside [1, " + MAX_UNITS + "]");
        }
        return n;
    }

    private static KdException bad(String text, String reason) {
        return new KdException("Invalid student spec '" + text + "': " + reason);
    }

    /** The canonical text of this spec, e.g. {@code cnn:32,64:dense128}; it is the architecture's name. */
    public String canonical() {
        StringBuilder sb = new StringBuilder(kind.name().toLowerCase(Locale.ROOT)).append(':');
        for (int i = 0; i < layers.size(); i++) {
            sb.append(i == 0 ? "" : ",").append(layers.get(i));
        }
        if (dense > 0) {
            sb.append(':').append(DENSE).append(dense);
        }
        return sb.toString();
    }

    /**
     * The architecture of this spec for inputs of {@code inputShape} (per example) and {@code numClasses} classes.
     *
     * @throws KdException when the shape does not suit the spec (naming both)
     */
    public Architecture build(List<Integer> inputShape, int numClasses) {
        Objects.requireNonNull(inputShape, "inputShape");
        if (inputShape.isEmpty() || inputShape.stream().anyMatch(d -> d == null || d < 1)) {
            throw new KdException("Student " + canonical() + ": input shape " + inputShape + " must be non-empty with "
                    + "positive dimensions");
        }
        if (numClasses < 1) {
            throw new KdException("Student " + canonical() + ": the class count must be >= 1, got " + numClasses);
        }
        return kind == Kind.MLP ? mlp(inputShape, numClasses) : cnn(inputShape, numClasses);
    }

    private Architecture mlp(List<Integer> inputShape, int numClasses) {
        List<FeatureSpec> features = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            features.add(FeatureSpec.embedding(mlpTap(i), layers.get(i)));
        }
        return new SpecArchitecture(canonical(), inputShape, numClasses, features, () -> {
            FeatureBlock.Builder b = FeatureBlock.builder();
            for (int i = 0; i < layers.size(); i++) {
                SequentialBlock stage = new SequentialBlock();
                if (i == 0) {
                    stage.add(Blocks.batchFlattenBlock());
                }
                stage.add(Linear.builder().setUnits(layers.get(i)).build()).add(Activation.reluBlock());
                b.addTapped(stage, mlpTap(i));
            }
            return b.add(Linear.builder().setUnits(numClasses).build()).build();
        });
    }

    private String mlpTap(int i) {
        return i == layers.size() - 1 ? "embedding" : "hidden" + (i + 1);
    }

    private Architecture cnn(List<Integer> inputShape, int numClasses) {
        if (inputShape.size() != 2 && inputShape.size() != 3) {
            throw new KdException("Student " + canonical() + " needs an image input [C, H, W] (or [H, W]), got "
                    + inputShape + "; use an mlp: spec for other shapes");
        }
        List<Integer> chw = inputShape.size() == 3 ? inputShape : List.of(1, inputShape.get(0), inputShape.get(1));
        int h = chw.get(1);
        int w = chw.get(2);
        List<FeatureSpec> features = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            h /= 2;
            w /= 2;
            if (h < 1 || w < 1) {
                throw new KdException("Student " + canonical() + ": " + layers.size() + " pooling blocks halve an input of "
                        + chw.get(1) + "x" + chw.get(2) + " to nothing after block " + (i + 1) + "; use fewer conv blocks");
            }
            features.add(FeatureSpec.map("conv" + (i + 1), 1 << (i + 1), layers.get(i), h, w));
        }
        if (dense > 0) {
            features.add(FeatureSpec.embedding("embedding", dense));
        }
        return new SpecArchitecture(canonical(), chw, numClasses, features, () -> {
            FeatureBlock.Builder b = FeatureBlock.builder();
            for (int i = 0; i < layers.size(); i++) {
                b.addTapped(new SequentialBlock()
                        .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1))
                                .setFilters(layers.get(i)).build())
                        .add(Activation.reluBlock())
                        .add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2))), "conv" + (i + 1));
            }
            if (dense > 0) {
                b.addTapped(new SequentialBlock()
                        .add(Blocks.batchFlattenBlock())
                        .add(Linear.builder().setUnits(dense).build())
                        .add(Activation.reluBlock()), "embedding");
                b.add(Linear.builder().setUnits(numClasses).build());
            } else {
                b.add(new SequentialBlock().add(Blocks.batchFlattenBlock()).add(Linear.builder().setUnits(numClasses).build()));
            }
            return b.build();
        });
    }

    /** An architecture built from a spec; its name is the canonical spec. */
    private record SpecArchitecture(String name, List<Integer> inputShape, int numClasses, List<FeatureSpec> features,
            java.util.function.Supplier<FeatureBlock> factory) implements Architecture {
        SpecArchitecture {
            inputShape = List.copyOf(inputShape);
            features = List.copyOf(features);
        }

        @Override
        public FeatureBlock newBlock() {
            return factory.get();
        }
    }
}
