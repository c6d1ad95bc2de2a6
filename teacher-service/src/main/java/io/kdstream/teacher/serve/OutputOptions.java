package io.kdstream.teacher.serve;

import io.kdstream.avro.DType;
import io.kdstream.core.zoo.FeatureSpec;

import java.util.List;
import java.util.Objects;

/**
 * What each TeacherOutput carries.
 *
 * @param logitsDtype   FLOAT32, FLOAT16 or BFLOAT16
 * @param topK          0 for dense logits, else the number of largest logits kept
 * @param featuresDtype FLOAT32, FLOAT16 or BFLOAT16
 * @param features      which feature maps to publish
 * @param includeInput  copy the input tensor
 * @param includeLabel  copy the label(s)
 */
public record OutputOptions(DType logitsDtype, int topK, DType featuresDtype, FeatureSelection features,
        boolean includeInput, boolean includeLabel) {

    public OutputOptions {
        requireFloating(logitsDtype, "logitsDtype");
        requireFloating(featuresDtype, "featuresDtype");
        Objects.requireNonNull(features, "features");
        if (topK < 0) {
            throw new IllegalArgumentException("topK must be >= 0, got " + topK);
        }
    }

    /** Dense FLOAT32 logits, every feature in FLOAT32, input and label included. */
    public static OutputOptions defaults() {
        return new OutputOptions(DType.FLOAT32, 0, DType.FLOAT32, FeatureSelection.all(), true, true);
    }

    private static void requireFloating(DType d, String name) {
        if (d != DType.FLOAT32 && d != DType.FLOAT16 && d != DType.BFLOAT16) {
            throw new IllegalArgumentException(name + " must be FLOAT32, FLOAT16 or BFLOAT16, got " + d);
        }
    }

    /**
     * Which declared features to publish.
     *
     * @param allFeatures publish every declared feature (then {@code names} is ignored)
     * @param names       the features to publish otherwise
     */
    public record FeatureSelection(boolean allFeatures, List<String> names) {
        public FeatureSelection {
            names = List.copyOf(names);
        }

        public static FeatureSelection all() {
            return new FeatureSelection(true, List.of());
        }

        public static FeatureSelection none() {
            return new FeatureSelection(false, List.of());
        }

        public static FeatureSelection of(List<String> names) {
            return new FeatureSelection(false, names);
        }

        /** Indices into {@code declared} of the selected features, in declared order. */
        public int[] select(List<FeatureSpec> declared) {
            if (allFeatures) {
                return java.util.stream.IntStream.range(0, declared.size()).toArray();
            }
            List<String> known = declared.stream().map(FeatureSpec::name).toList();
            for (String n : names) {
                if (!known.contains(n)) {
                    throw new IllegalArgumentException("feature '" + n + "' is not one the model declares: " + known);
                }
            }
            return java.util.stream.IntStream.range(0, declared.size()).filter(i -> names.contains(declared.get(i).name())).toArray();
        }
    }
}
