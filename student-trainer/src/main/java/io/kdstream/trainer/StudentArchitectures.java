package io.kdstream.trainer;

import io.kdstream.trainer.source.StreamShape;
import io.kdstream.trainer.source.StreamShapeProbe;

import io.kdstream.core.KdException;
import io.kdstream.core.model.ModelFormat;
import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.model.ModelStore;
import io.kdstream.core.model.SavedModel;
import io.kdstream.core.zoo.Architecture;
import io.kdstream.core.zoo.ArchitectureSpec;
import io.kdstream.core.zoo.FeatureBlock;
import io.kdstream.core.zoo.ModelZoo;
import io.kdstream.trainer.student.TorchScriptStudent;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The one place a run's student comes from ({@code trainer.student}):
 *
 * <ul>
 *   <li>a TorchScript file ({@code trainer.student.model}, see {@link TorchScriptStudent}), with the input shape, class
 *       count and features of its sidecar metadata;</li>
 *   <li>a zoo name ({@code fmnist-mlp-student}, ...): the zoo's architecture with its fixed input shape and class
 *       count; {@code trainer.input.shape} / {@code trainer.num.classes}, when set, must equal them;</li>
 *   <li>a spec ({@code mlp:512,256}, {@code cnn:32,64:dense128}, see {@link ArchitectureSpec}) built for the input
 *       shape and class count found in this order: the run directory's {@value #STUDENT_FILE} (a resumed run keeps
 *       the student it started with), the keys {@code trainer.input.shape} and {@code trainer.num.classes}, and
 *       otherwise the stream itself: the first decodable record of the topic gives the input tensor's shape and, for
 *       a teacher output, the class count (the length of the teacher's logits).</li>
 * </ul>
 *
 * Saved students record the spec (as the architecture name), the input shape and the class count in their
 * {@link ModelMetadata}; {@link #forSaved} rebuilds the architecture from them.
 */
public final class StudentArchitectures {
    private static final Logger LOGGER = LoggerFactory.getLogger(StudentArchitectures.class);

    /** The student a spec run was started with, in its run directory (a {@link ModelMetadata} draft). */
    public static final String STUDENT_FILE = "student.json";

    private StudentArchitectures() {
    }

    /**
     * The student's architecture, with what the settings leave open read from the first usable record of
     * {@code topic} ({@code InputRecord}s when {@code inputRecords}, else teacher outputs).
     */
    static Architecture resolve(TrainerConfig config, String topic, boolean inputRecords, BooleanSupplier stopped) {
        StreamShapeProbe.Reading reading = new StreamShapeProbe.Reading(config, config.follow(),
                "set " + TrainerConfig.INPUT_SHAPE_CONFIG + " and " + TrainerConfig.NUM_CLASSES_CONFIG);
        return resolve(config, () -> StreamShapeProbe.probe(reading, topic, inputRecords, stopped));
    }

    /**
     * The run's student. {@code stream} is asked only when a spec student's shape or class count is neither in the
     * run directory nor in the configuration.
     *
     * @throws KdException when the student cannot be built, or a setting contradicts the zoo architecture, the run
     *                     directory or the stream
     */
    public static Architecture resolve(TrainerConfig config, Supplier<StreamShape> stream) {
        String student = config.student();
        if (config.studentModel().isPresent()) {
            TorchScriptStudent torchScript = TorchScriptStudent.load(config.studentModel().get());
            checkExplicit(config, torchScript.inputShape(), torchScript.numClasses(), "TorchScript student " + torchScript.file());
            return torchScript;
        }
        if (!ArchitectureSpec.isSpec(student)) {
            return zoo(config, student);
        }
        ArchitectureSpec spec = ArchitectureSpec.parse(student);
        Path recorded = config.checkpointDir().resolve(STUDENT_FILE);
        if (Files.isRegularFile(recorded)) {
            ModelMetadata started = ModelMetadata.fromJson(read(recorded), recorded.toString());
            if (!started.architecture().equals(spec.canonical())) {
                throw new KdException("The run in " + config.checkpointDir() + " was started with student " + started.architecture()
                        + ", not " + spec.canonical() + "; resume with the same " + TrainerConfig.STUDENT_CONFIG
                        + " or use another " + TrainerConfig.CHECKPOINT_DIR_CONFIG);
            }
            checkExplicit(config, started.inputShape(), started.numClasses(), "the run's " + recorded);
            return forShape(student, started.inputShape(), started.numClasses());
        }
        List<Integer> shape = config.inputShape();
        int classes = config.numClasses();
        if (shape.isEmpty() || classes == 0) {
            StreamShape found = stream.get();
            if (shape.isEmpty()) {
                shape = found.inputShape();
            }
            if (classes == 0) {
                classes = found.numClasses().orElseThrow(() -> new KdException("Student " + spec.canonical() + ": "
                        + found.source() + " carries no teacher logits to count the classes from; set "
                        + TrainerConfig.NUM_CLASSES_CONFIG));
            }
            LOGGER.info("Student {}: input shape {} and {} classes (detected from {})", spec.canonical(), shape, classes,
                    found.source());
        }
        return forShape(student, shape, classes);
    }

    /**
     * The student named by {@code student} (zoo name or spec) for {@code inputShape} and {@code numClasses}.
     *
     * @throws KdException when a zoo architecture has another shape or class count, or the spec does not fit
     */
    public static Architecture forShape(String student, List<Integer> inputShape, int numClasses) {
        if (!ArchitectureSpec.isSpec(student)) {
            Architecture a = ModelZoo.get(student);
            if (!a.inputShape().equals(inputShape) || a.numClasses() != numClasses) {
                throw new KdException("Zoo student " + student + " takes inputs " + a.inputShape() + " with " + a.numClasses()
                        + " classes, not " + inputShape + " with " + numClasses + "; use a spec (mlp:... or cnn:...) for "
                        + "other shapes");
            }
            return a;
        }
        return ArchitectureSpec.parse(student).build(inputShape, numClasses);
    }

    /**
     * The architecture of a saved student, rebuilt from its metadata (zoo name or spec, input shape, class count).
     *
     * @throws KdException when the metadata's declared features differ from the rebuilt architecture's
     */
    public static Architecture forSaved(ModelMetadata metadata) {
        if (metadata.format() != ModelFormat.DJL) {
            throw new KdException("Saved student " + metadata.architecture() + " is a " + metadata.format() + " model; only "
                    + "DJL students (zoo names and specs) are rebuilt from their metadata");
        }
        Architecture a = forShape(metadata.architecture(), metadata.inputShape(), metadata.numClasses());
        if (!a.features().equals(metadata.features())) {
            throw new KdException("Saved student " + metadata.architecture() + " declares features " + metadata.features()
                    + " but the architecture has " + a.features());
        }
        return a;
    }

    /**
     * The shape every input record must have for {@code architecture}: its input shape for a spec student; null for
     * a zoo student, which takes any shape of its element count (as it always has).
     */
    public static List<Integer> recordShape(Architecture architecture) {
        return ArchitectureSpec.isSpec(architecture.name()) ? architecture.inputShape() : null;
    }

    /** A saved student's network with its parameters loaded, in {@code manager}. */
    public static FeatureBlock load(SavedModel saved, NDManager manager) {
        Architecture a = forSaved(saved.metadata());
        FeatureBlock block = a.newBlock();
        long[] dims = new long[a.inputShape().size() + 1];
        dims[0] = 1;
        for (int i = 0; i < a.inputShape().size(); i++) {
            dims[i + 1] = a.inputShape().get(i);
        }
        block.initialize(manager, DataType.FLOAT32, new Shape(dims));
        ModelStore.loadParameters(block, manager, saved);
        return block;
    }

    /** Records a spec student in the run directory so a resumed run builds the same one (zoo students need nothing). */
    static void remember(TrainerConfig config, Architecture architecture) {
        if (!ArchitectureSpec.isSpec(architecture.name())) {
            return;
        }
        Path file = config.checkpointDir().resolve(STUDENT_FILE);
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling(STUDENT_FILE + ".tmp");
            Files.writeString(tmp, ModelMetadata.draft(architecture, ModelStore.PARAMETERS_FILE).toJson(), StandardCharsets.UTF_8);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new KdException("Cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private static Architecture zoo(TrainerConfig config, String student) {
        Architecture a = ModelZoo.get(student);
        checkExplicit(config, a.inputShape(), a.numClasses(), "zoo student " + student);
        return a;
    }

    private static void checkExplicit(TrainerConfig config, List<Integer> shape, int classes, String what) {
        if (!config.inputShape().isEmpty() && !config.inputShape().equals(shape)) {
            throw new KdException(TrainerConfig.INPUT_SHAPE_CONFIG + "=" + config.inputShape() + " contradicts " + what
                    + ", whose input shape is " + shape);
        }
        if (config.numClasses() != 0 && config.numClasses() != classes) {
            throw new KdException(TrainerConfig.NUM_CLASSES_CONFIG + "=" + config.numClasses() + " contradicts " + what
                    + ", which has " + classes + " classes");
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new KdException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
