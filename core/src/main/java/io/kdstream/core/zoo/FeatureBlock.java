package io.kdstream.core.zoo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A sequence of stages whose forward returns the last stage's output (the logits) followed by the outputs of the
 * tapped stages (the named features), in the order they were tapped. Each returned array carries its name
 * ({@code logits} or the feature name).
 */
public final class FeatureBlock extends AbstractBlock {

    private static final byte VERSION = 1;
    public static final String LOGITS = "logits";

    private final List<Block> stages = new ArrayList<>();
    private final List<String> tapAfter = new ArrayList<>();
    private final List<String> featureNames = new ArrayList<>();
    /** True when the only stage is a whole module that returns the logits and the features itself. */
    private boolean wholeModule;

    private FeatureBlock() {
        super(VERSION);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Names of the feature outputs, in output order (after the logits). */
    public List<String> featureNames() {
        return List.copyOf(featureNames);
    }

    @Override
    protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
            PairList<String, Object> params) {
        if (wholeModule) {
            NDList out = stages.get(0).forward(parameterStore, inputs, training, params);
            if (out.size() != 1 + featureNames.size()) {
                throw new IllegalStateException("the module returned " + out.size() + " arrays, expected the logits and "
                        + featureNames.size() + " feature(s) " + featureNames);
            }
            out.get(0).setName(LOGITS);
            for (int i = 0; i < featureNames.size(); i++) {
                out.get(i + 1).setName(featureNames.get(i));
            }
            return out;
        }
        NDList current = inputs;
        NDArray[] taps = new NDArray[featureNames.size()];
        int tap = 0;
        for (int i = 0; i < stages.size(); i++) {
            current = stages.get(i).forward(parameterStore, current, training, params);
            if (tapAfter.get(i) != null) {
                NDArray feature = current.singletonOrThrow();
                feature.setName(tapAfter.get(i));
                taps[tap++] = feature;
            }
        }
        NDArray logits = current.singletonOrThrow();
        logits.setName(LOGITS);
        NDList out = new NDList(1 + taps.length);
        out.add(logits);
        for (NDArray t : taps) {
            out.add(t);
        }
        return out;
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        if (wholeModule) {
            return stages.get(0).getOutputShapes(inputShapes);
        }
        Shape[] current = inputShapes;
        Shape[] taps = new Shape[featureNames.size()];
        int tap = 0;
        for (int i = 0; i < stages.size(); i++) {
            current = stages.get(i).getOutputShapes(current);
            if (tapAfter.get(i) != null) {
                taps[tap++] = current[0];
            }
        }
        Shape[] out = new Shape[1 + taps.length];
        out[0] = current[0];
        System.arraycopy(taps, 0, out, 1, taps.length);
        return out;
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape[] current = inputShapes;
        for (Block stage : stages) {
            stage.initialize(manager, dataType, current);
            current = stage.getOutputShapes(current);
        }
    }

    /** Builds a {@link FeatureBlock}: stages in order, each optionally tapped as a named feature. */
    public static final class Builder {
        private final List<Block> stages = new ArrayList<>();
        private final List<String> tapAfter = new ArrayList<>();
        private final Set<String> names = new HashSet<>();
        private boolean wholeModule;
        private final List<String> moduleFeatures = new ArrayList<>();

        private Builder() {
        }

        /**
         * Makes {@code module} the only stage: a whole network (e.g. a loaded TorchScript module) whose forward itself
         * returns the logits followed by the features {@code featureNames}, in that order.
         */
        public Builder addModule(Block module, List<String> featureNames) {
            if (!stages.isEmpty()) {
                throw new IllegalStateException("a whole module must be the only stage of a FeatureBlock");
            }
            stages.add(module);
            tapAfter.add(null);
            for (String name : featureNames) {
                if (name == null || name.isBlank() || LOGITS.equals(name) || !names.add(name)) {
                    throw new IllegalArgumentException("feature name must be non-blank, unique and not '" + LOGITS + "': " + name);
                }
            }
            wholeModule = true;
            moduleFeatures.addAll(featureNames);
            return this;
        }

        /** Appends a stage whose output is internal. */
        public Builder add(Block stage) {
            requireStaged();
            stages.add(stage);
            tapAfter.add(null);
            return this;
        }

        /** Appends a stage whose output is also returned as the feature {@code featureName}. */
        public Builder addTapped(Block stage, String featureName) {
            if (featureName == null || featureName.isBlank() || LOGITS.equals(featureName) || !names.add(featureName)) {
                throw new IllegalArgumentException("feature name must be non-blank, unique and not '" + LOGITS + "': " + featureName);
            }
            requireStaged();
            stages.add(stage);
            tapAfter.add(featureName);
            return this;
        }

        private void requireStaged() {
            if (wholeModule) {
                throw new IllegalStateException("a FeatureBlock with a whole module has no other stage");
            }
        }

        public FeatureBlock build() {
            if (stages.isEmpty()) {
                throw new IllegalStateException("a FeatureBlock needs at least one stage");
            }
            FeatureBlock block = new FeatureBlock();
            if (wholeModule) {
                block.wholeModule = true;
                block.stages.add(block.addChildBlock("module", stages.get(0)));
                block.tapAfter.add(null);
                block.featureNames.addAll(moduleFeatures);
                return block;
            }
            for (int i = 0; i < stages.size(); i++) {
                String tap = tapAfter.get(i);
                block.stages.add(block.addChildBlock(String.format("%02d%s", i, tap == null ? "" : "_" + tap), stages.get(i)));
                block.tapAfter.add(tap);
                if (tap != null) {
                    block.featureNames.add(tap);
                }
            }
            return block;
        }
    }
}
