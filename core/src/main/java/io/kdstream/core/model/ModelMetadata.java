package io.kdstream.core.model;

import io.kdstream.core.KdException;
import io.kdstream.core.zoo.Architecture;
import io.kdstream.core.zoo.FeatureSpec;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What a stored model is: format, architecture, version, input shape, class count, named features (channels,
 * stride, shape), the parameter file and its sha256, and how it was trained. Written as {@code metadata.json} next
 * to the parameters; for a TorchScript file {@code model.pt} the same format may sit in {@code model.json}.
 *
 * @param format           how the parameters are stored
 * @param architecture     model name: a zoo architecture for {@link ModelFormat#DJL}, free text for TorchScript
 * @param version          model version string (the store uses the creation time and a hash prefix)
 * @param inputShape       per-example input shape, e.g. [1, 28, 28]
 * @param numClasses       size of the logits
 * @param features         named feature outputs in the order the model returns them after the logits
 * @param parametersFile   file name of the parameters, relative to the metadata file
 * @param parametersSha256 hex sha256 of the parameter file; empty when not yet known (a draft before saving)
 * @param testAccuracy     accuracy on the test split, if measured
 * @param training         how it was trained, if known
 */
public record ModelMetadata(ModelFormat format, String architecture, String version, List<Integer> inputShape,
        int numClasses, List<FeatureSpec> features, String parametersFile, String parametersSha256,
        Optional<Double> testAccuracy, Optional<TrainingInfo> training) {

    public static final int FORMAT_VERSION = 1;
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    /** How a model was trained. */
    public record TrainingInfo(String dataset, int epochs, long seed, int batchSize, double learningRate,
            double seconds) {
        public TrainingInfo {
            Objects.requireNonNull(dataset, "dataset");
            if (epochs < 0 || batchSize < 0 || seconds < 0) {
                throw new IllegalArgumentException("epochs, batchSize and seconds must be >= 0");
            }
        }
    }

    public ModelMetadata {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(architecture, "architecture");
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(inputShape, "inputShape");
        Objects.requireNonNull(features, "features");
        Objects.requireNonNull(parametersFile, "parametersFile");
        Objects.requireNonNull(parametersSha256, "parametersSha256");
        Objects.requireNonNull(testAccuracy, "testAccuracy");
        Objects.requireNonNull(training, "training");
        if (architecture.isBlank() || version.isBlank()) {
            throw new IllegalArgumentException("architecture and version must not be blank");
        }
        if (inputShape.isEmpty() || inputShape.stream().anyMatch(d -> d == null || d <= 0)) {
            throw new IllegalArgumentException("inputShape must be non-empty with positive dimensions: " + inputShape);
        }
        if (numClasses < 1) {
            throw new IllegalArgumentException("numClasses must be >= 1, got " + numClasses);
        }
        Set<String> names = new HashSet<>();
        for (FeatureSpec f : features) {
            if (!names.add(f.name())) {
                throw new IllegalArgumentException("duplicate feature name " + f.name());
            }
        }
        if (parametersFile.isBlank() || parametersFile.contains("/") || parametersFile.contains("\\")) {
            throw new IllegalArgumentException("parametersFile must be a plain file name, got '" + parametersFile + "'");
        }
        if (!parametersSha256.isEmpty() && !SHA256.matcher(parametersSha256).matches()) {
            throw new IllegalArgumentException("parametersSha256 must be 64 lower-case hex digits, got '" + parametersSha256 + "'");
        }
        testAccuracy.ifPresent(a -> {
            if (!(a >= 0 && a <= 1)) {
                throw new IllegalArgumentException("testAccuracy must be in [0, 1], got " + a);
            }
        });
        inputShape = List.copyOf(inputShape);
        features = List.copyOf(features);
    }

    /** A draft for a zoo architecture, before its parameters are saved and hashed. */
    public static ModelMetadata draft(Architecture architecture, String parametersFile) {
        return new ModelMetadata(ModelFormat.DJL, architecture.name(), "draft", architecture.inputShape(),
                architecture.numClasses(), architecture.features(), parametersFile, "", Optional.empty(), Optional.empty());
    }

    public ModelMetadata withVersion(String newVersion) {
        return new ModelMetadata(format, architecture, newVersion, inputShape, numClasses, features, parametersFile,
                parametersSha256, testAccuracy, training);
    }

    public ModelMetadata withSha256(String sha256) {
        return new ModelMetadata(format, architecture, version, inputShape, numClasses, features, parametersFile,
                sha256, testAccuracy, training);
    }

    public ModelMetadata withTestAccuracy(double accuracy) {
        return new ModelMetadata(format, architecture, version, inputShape, numClasses, features, parametersFile,
                parametersSha256, Optional.of(accuracy), training);
    }

    public ModelMetadata withTraining(TrainingInfo info) {
        return new ModelMetadata(format, architecture, version, inputShape, numClasses, features, parametersFile,
                parametersSha256, testAccuracy, Optional.of(info));
    }

    /** Elements per example of the input. */
    public int inputSize() {
        return inputShape.stream().reduce(1, (a, b) -> a * b);
    }

    public Optional<FeatureSpec> feature(String name) {
        return features.stream().filter(f -> f.name().equals(name)).findFirst();
    }

    // ------------------------------------------------------------------ JSON

    public String toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("formatVersion", FORMAT_VERSION);
        o.addProperty("format", format.name().toLowerCase(java.util.Locale.ROOT));
        o.addProperty("architecture", architecture);
        o.addProperty("version", version);
        o.add("inputShape", ints(inputShape));
        o.addProperty("numClasses", numClasses);
        JsonArray fs = new JsonArray();
        for (FeatureSpec f : features) {
            JsonObject fo = new JsonObject();
            fo.addProperty("name", f.name());
            fo.addProperty("channels", f.channels());
            fo.addProperty("stride", f.stride());
            fo.add("shape", ints(f.shape()));
            fs.add(fo);
        }
        o.add("features", fs);
        o.addProperty("parametersFile", parametersFile);
        o.addProperty("parametersSha256", parametersSha256);
        testAccuracy.ifPresent(a -> o.addProperty("testAccuracy", a));
        training.ifPresent(t -> {
            JsonObject to = new JsonObject();
            to.addProperty("dataset", t.dataset());
            to.addProperty("epochs", t.epochs());
            to.addProperty("seed", t.seed());
            to.addProperty("batchSize", t.batchSize());
            to.addProperty("learningRate", t.learningRate());
            to.addProperty("seconds", t.seconds());
            o.add("training", to);
        });
        return GSON.toJson(o) + "\n";
    }

    /**
     * Parses metadata JSON. Absent optional members take defaults: format {@code djl}, version {@code 1}, no
     * features, no accuracy, no training info.
     *
     * @throws KdException naming {@code source} when the JSON is malformed or a required member is missing
     */
    public static ModelMetadata fromJson(String json, String source) {
        try {
            JsonObject o = JsonParser.parseString(json).getAsJsonObject();
            int formatVersion = o.has("formatVersion") ? o.get("formatVersion").getAsInt() : FORMAT_VERSION;
            if (formatVersion > FORMAT_VERSION) {
                throw new KdException(source + ": metadata formatVersion " + formatVersion + " is newer than this "
                        + "kdstream understands (" + FORMAT_VERSION + ")");
            }
            ModelFormat format = o.has("format")
                    ? ModelFormat.valueOf(o.get("format").getAsString().toUpperCase(java.util.Locale.ROOT))
                    : ModelFormat.DJL;
            List<FeatureSpec> features = new ArrayList<>();
            if (o.has("features")) {
                for (JsonElement e : o.getAsJsonArray("features")) {
                    JsonObject fo = e.getAsJsonObject();
                    FeatureSpec f = new FeatureSpec(required(fo, "name", source).getAsString(),
                            fo.has("stride") ? fo.get("stride").getAsInt() : 0, intList(required(fo, "shape", source)));
                    if (fo.has("channels") && fo.get("channels").getAsInt() != f.channels()) {
                        throw new KdException(source + ": feature " + f.name() + " declares channels "
                                + fo.get("channels").getAsInt() + " but its shape is " + f.shape());
                    }
                    features.add(f);
                }
            }
            Optional<TrainingInfo> training = Optional.empty();
            if (o.has("training")) {
                JsonObject t = o.getAsJsonObject("training");
                training = Optional.of(new TrainingInfo(t.get("dataset").getAsString(), t.get("epochs").getAsInt(),
                        t.get("seed").getAsLong(), t.get("batchSize").getAsInt(), t.get("learningRate").getAsDouble(),
                        t.get("seconds").getAsDouble()));
            }
            return new ModelMetadata(format,
                    required(o, "architecture", source).getAsString(),
                    o.has("version") ? o.get("version").getAsString() : "1",
                    intList(required(o, "inputShape", source)),
                    required(o, "numClasses", source).getAsInt(),
                    features,
                    required(o, "parametersFile", source).getAsString(),
                    o.has("parametersSha256") ? o.get("parametersSha256").getAsString() : "",
                    o.has("testAccuracy") ? Optional.of(o.get("testAccuracy").getAsDouble()) : Optional.empty(),
                    training);
        } catch (JsonParseException | IllegalStateException | IllegalArgumentException | NullPointerException
                | UnsupportedOperationException e) {
            throw new KdException("Invalid model metadata in " + source + ": " + e.getMessage(), e);
        }
    }

    private static JsonElement required(JsonObject o, String member, String source) {
        JsonElement e = o.get(member);
        if (e == null || e.isJsonNull()) {
            throw new KdException("Invalid model metadata in " + source + ": '" + member + "' is missing");
        }
        return e;
    }

    private static JsonArray ints(List<Integer> values) {
        JsonArray a = new JsonArray();
        values.forEach(a::add);
        return a;
    }

    private static List<Integer> intList(JsonElement e) {
        List<Integer> out = new ArrayList<>();
        for (JsonElement v : e.getAsJsonArray()) {
            out.add(v.getAsInt());
        }
        return out;
    }
}
