package io.kdstream.core.zoo;

import io.kdstream.core.KdException;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Blocks;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.norm.Dropout;
import ai.djl.nn.pooling.Pool;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The architectures kdstream ships for 28x28 grey-scale inputs with 10 classes (Fashion-MNIST): the teacher CNN and
 * two students. Inputs are {@code [N, 1, 28, 28]} float32 in [0, 1].
 */
public final class ModelZoo {

    /** Teacher: three conv blocks with batch norm, ~0.46M parameters. */
    public static final String FMNIST_CNN_TEACHER = "fmnist-cnn-teacher";
    /** Student: a two-hidden-layer MLP of fewer than 100K parameters. */
    public static final String FMNIST_MLP_STUDENT = "fmnist-mlp-student";
    /** Student: a tiny two-conv CNN of 52,138 parameters. */
    public static final String FMNIST_TINY_CNN_STUDENT = "fmnist-tinycnn-student";

    private static final List<Integer> INPUT_SHAPE = List.of(1, 28, 28);
    private static final int NUM_CLASSES = 10;

    private static final Map<String, Supplier<Architecture>> ARCHITECTURES = Map.of(
            FMNIST_CNN_TEACHER, ModelZoo::teacherCnn,
            FMNIST_MLP_STUDENT, ModelZoo::studentMlp,
            FMNIST_TINY_CNN_STUDENT, ModelZoo::studentTinyCnn);

    private ModelZoo() {
    }

    /** Names of all architectures, sorted. */
    public static List<String> names() {
        return ARCHITECTURES.keySet().stream().sorted().toList();
    }

    /**
     * @throws KdException naming the known architectures when {@code name} is not one of them
     */
    public static Architecture get(String name) {
        Supplier<Architecture> a = ARCHITECTURES.get(name);
        if (a == null) {
            throw new KdException("Unknown architecture '" + name + "'; known: " + names());
        }
        return a.get();
    }

    /**
     * conv(32)-BN-ReLU-pool → conv(64)-BN-ReLU-pool → conv(64)-BN-ReLU [feature {@code conv3}: 64x7x7, stride 4] →
     * flatten → dense(128)-ReLU [feature {@code embedding}: 128] → dropout(0.3) → dense(10).
     */
    public static Architecture teacherCnn() {
        return new SimpleArchitecture(FMNIST_CNN_TEACHER, INPUT_SHAPE, NUM_CLASSES,
                List.of(FeatureSpec.map("conv3", 4, 64, 7, 7), FeatureSpec.embedding("embedding", 128)),
                () -> FeatureBlock.builder()
                        .add(convBnRelu(32))
                        .add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2)))
                        .add(convBnRelu(64))
                        .add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2)))
                        .addTapped(convBnRelu(64), "conv3")
                        .addTapped(new SequentialBlock()
                                .add(Blocks.batchFlattenBlock())
                                .add(Linear.builder().setUnits(128).build())
                                .add(Activation.reluBlock()), "embedding")
                        .add(new SequentialBlock()
                                .add(Dropout.builder().optRate(0.3f).build())
                                .add(Linear.builder().setUnits(NUM_CLASSES).build()))
                        .build());
    }

    /**
     * flatten → dense(112)-ReLU [feature {@code hidden}: 112] → dense(64)-ReLU [feature {@code embedding}: 64] →
     * dense(10). 95,802 parameters.
     */
    public static Architecture studentMlp() {
        return new SimpleArchitecture(FMNIST_MLP_STUDENT, INPUT_SHAPE, NUM_CLASSES,
                List.of(FeatureSpec.embedding("hidden", 112), FeatureSpec.embedding("embedding", 64)),
                () -> FeatureBlock.builder()
                        .addTapped(new SequentialBlock()
                                .add(Blocks.batchFlattenBlock())
                                .add(Linear.builder().setUnits(112).build())
                                .add(Activation.reluBlock()), "hidden")
                        .addTapped(new SequentialBlock()
                                .add(Linear.builder().setUnits(64).build())
                                .add(Activation.reluBlock()), "embedding")
                        .add(Linear.builder().setUnits(NUM_CLASSES).build())
                        .build());
    }

    /**
     * conv(8)-ReLU-pool → conv(16)-ReLU-pool [feature {@code conv2}: 16x7x7, stride 4] → flatten → dense(64)-ReLU
     * [feature {@code embedding}: 64] → dense(10). 52,138 parameters; no batch norm, so parameters alone are the
     * whole state (simple to average across a trainer group).
     */
    public static Architecture studentTinyCnn() {
        return new SimpleArchitecture(FMNIST_TINY_CNN_STUDENT, INPUT_SHAPE, NUM_CLASSES,
                List.of(FeatureSpec.map("conv2", 4, 16, 7, 7), FeatureSpec.embedding("embedding", 64)),
                () -> FeatureBlock.builder()
                        .add(new SequentialBlock()
                                .add(conv(8))
                                .add(Activation.reluBlock())
                                .add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2))))
                        .addTapped(new SequentialBlock()
                                .add(conv(16))
                                .add(Activation.reluBlock())
                                .add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2))), "conv2")
                        .addTapped(new SequentialBlock()
                                .add(Blocks.batchFlattenBlock())
                                .add(Linear.builder().setUnits(64).build())
                                .add(Activation.reluBlock()), "embedding")
                        .add(Linear.builder().setUnits(NUM_CLASSES).build())
                        .build());
    }

    private static Conv2d conv(int filters) {
        return Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1)).setFilters(filters).build();
    }

    private static SequentialBlock convBnRelu(int filters) {
        return new SequentialBlock()
                .add(conv(filters))
                .add(BatchNorm.builder().build())
                .add(Activation.reluBlock());
    }

    private record SimpleArchitecture(String name, List<Integer> inputShape, int numClasses, List<FeatureSpec> features,
            Supplier<FeatureBlock> factory) implements Architecture {
        SimpleArchitecture {
            inputShape = List.copyOf(inputShape);
            features = List.copyOf(features);
        }

        @Override
        public FeatureBlock newBlock() {
            FeatureBlock block = factory.get();
            List<String> declared = features.stream().map(FeatureSpec::name).toList();
            if (!declared.equals(block.featureNames())) {
                throw new IllegalStateException(name + ": block features " + block.featureNames() + " != declared " + declared);
            }
            return block;
        }
    }
}
