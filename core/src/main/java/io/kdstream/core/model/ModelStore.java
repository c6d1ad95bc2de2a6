package io.kdstream.core.model;

import io.kdstream.core.KdException;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;

/**
 * A directory of models, one sub-directory each ({@code metadata.json} + parameter file), and a {@code latest}
 * pointer file naming the model saved last. The default root is {@code $KDSTREAM_HOME/models}, or
 * {@code ~/.kdstream/models} when {@code KDSTREAM_HOME} is not set.
 *
 * <p>TorchScript models need no store: a {@code model.pt} file is read with the metadata in {@code model.json}
 * next to it (see {@link #read(Path)}).
 */
public final class ModelStore {

    private static final Logger LOGGER = LoggerFactory.getLogger(ModelStore.class);

    public static final String METADATA_FILE = "metadata.json";
    public static final String PARAMETERS_FILE = "parameters.djl";
    public static final String LATEST_FILE = "latest";
    public static final String HOME_ENV = "KDSTREAM_HOME";
    private static final DateTimeFormatter VERSION_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT);

    private final Path root;

    private ModelStore(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    public static ModelStore open(Path root) {
        return new ModelStore(root);
    }

    /** The store at {@code $KDSTREAM_HOME/models} (default {@code ~/.kdstream/models}). */
    public static ModelStore openDefault() {
        return new ModelStore(defaultRoot(System.getenv(HOME_ENV)));
    }

    static Path defaultRoot(String kdstreamHome) {
        Path home = kdstreamHome == null || kdstreamHome.isBlank()
                ? Path.of(System.getProperty("user.home"), ".kdstream")
                : Path.of(kdstreamHome);
        return home.resolve("models");
    }

    public Path root() {
        return root;
    }

    /**
     * Saves a block's parameters and metadata as a new model directory of the store, named
     * {@code <architecture>-<time>-<sha256 prefix>}; the version is {@code <time>-<sha256 prefix>}.
     *
     * @param makeLatest whether {@code latest} then points at it
     */
    public SavedModel save(Block block, ModelMetadata draft, boolean makeLatest) {
        String time = VERSION_TIME.format(ZonedDateTime.now(ZoneOffset.UTC));
        Path staging = root.resolve(".staging-" + UUID.randomUUID());
        try {
            Files.createDirectories(staging);
            Path params = staging.resolve(draft.parametersFile());
            writeParameters(block, params);
            String sha = Sha256.of(params);
            String version = time + "-" + sha.substring(0, 8);
            ModelMetadata metadata = draft.withSha256(sha).withVersion(version);
            Files.writeString(staging.resolve(METADATA_FILE), metadata.toJson(), StandardCharsets.UTF_8);
            Path dir = root.resolve(directoryName(metadata.architecture()) + "-" + version);
            Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
            if (makeLatest) {
                setLatest(dir);
            }
            LOGGER.info("Saved model architecture={} version={} sha256={} dir={}", metadata.architecture(), version, sha, dir);
            return new SavedModel(dir, metadata);
        } catch (IOException e) {
            throw new KdException("Cannot save the model under " + root + ": " + e.getMessage(), e);
        } finally {
            deleteQuietly(staging);
        }
    }

    /**
     * Saves a block's parameters and metadata into {@code dir} (created if needed, files replaced). The version is
     * {@code <time>-<sha256 prefix>}.
     */
    public static SavedModel saveTo(Path dir, Block block, ModelMetadata draft) {
        try {
            Files.createDirectories(dir);
            Path params = dir.resolve(draft.parametersFile());
            Path tmp = dir.resolve(draft.parametersFile() + ".tmp");
            writeParameters(block, tmp);
            moveAtomically(tmp, params);
            String sha = Sha256.of(params);
            String version = VERSION_TIME.format(ZonedDateTime.now(ZoneOffset.UTC)) + "-" + sha.substring(0, 8);
            ModelMetadata metadata = draft.withSha256(sha).withVersion(version);
            writeAtomically(dir.resolve(METADATA_FILE), metadata.toJson());
            return new SavedModel(dir.toAbsolutePath().normalize(), metadata);
        } catch (IOException e) {
            throw new KdException("Cannot save the model to " + dir + ": " + e.getMessage(), e);
        }
    }

    /** An architecture name as a directory name: a spec such as {@code cnn:32,64:dense128} becomes {@code cnn_32_64_dense128}. */
    static String directoryName(String architecture) {
        return architecture.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    /** Points {@code latest} at {@code dir} (stored as a path relative to the root when inside it). */
    public void setLatest(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        String target = abs.startsWith(root) ? root.relativize(abs).toString() : abs.toString();
        try {
            Files.createDirectories(root);
            writeAtomically(root.resolve(LATEST_FILE), target + "\n");
        } catch (IOException e) {
            throw new KdException("Cannot update " + root.resolve(LATEST_FILE) + ": " + e.getMessage(), e);
        }
    }

    /** The model {@code latest} points at, if any. */
    public Optional<Path> latest() {
        Path pointer = root.resolve(LATEST_FILE);
        if (!Files.isRegularFile(pointer)) {
            return Optional.empty();
        }
        try {
            String target = Files.readString(pointer, StandardCharsets.UTF_8).trim();
            return target.isEmpty() ? Optional.empty() : Optional.of(root.resolve(target).normalize());
        } catch (IOException e) {
            throw new KdException("Cannot read " + pointer + ": " + e.getMessage(), e);
        }
    }

    /**
     * Resolves a model argument: null or {@code latest} → the latest model; an existing path (directory or
     * {@code .pt} file) → itself; otherwise a directory name inside the store.
     *
     * @throws KdException when nothing matches, with what to do
     */
    public Path resolve(String spec) {
        if (spec == null || spec.isBlank() || spec.equals(LATEST_FILE)) {
            return latest().orElseThrow(() -> new KdException("No model in " + root
                    + " yet: train one with 'kdstream teacher train', or pass --model DIR|file.pt"));
        }
        Path p = Path.of(spec);
        if (Files.exists(p)) {
            return p.toAbsolutePath().normalize();
        }
        Path inStore = root.resolve(spec);
        if (Files.isDirectory(inStore)) {
            return inStore;
        }
        throw new KdException("Model '" + spec + "' not found: neither a path nor a model in " + root);
    }

    /**
     * Reads a model's metadata and checks its parameter file against the recorded sha256. {@code path} is a model
     * directory (with {@code metadata.json}) or a TorchScript {@code .pt} file, whose metadata is the
     * {@code .json} file of the same name if there is one (else it must be given by the caller).
     *
     * @throws KdException when the metadata is missing or invalid, or the parameters do not match their sha256
     */
    public static SavedModel read(Path path) {
        Path abs = path.toAbsolutePath().normalize();
        if (Files.isDirectory(abs)) {
            Path meta = abs.resolve(METADATA_FILE);
            if (!Files.isRegularFile(meta)) {
                throw new KdException("Not a model directory: " + meta + " is missing");
            }
            SavedModel model = new SavedModel(abs, ModelMetadata.fromJson(readString(meta), meta.toString()));
            verify(model);
            return model;
        }
        Path sidecar = sidecarOf(abs);
        if (!Files.isRegularFile(sidecar)) {
            throw new KdException("No metadata for " + abs + ": expected " + sidecar);
        }
        ModelMetadata metadata = ModelMetadata.fromJson(readString(sidecar), sidecar.toString());
        if (!metadata.parametersFile().equals(abs.getFileName().toString())) {
            throw new KdException(sidecar + " describes '" + metadata.parametersFile() + "', not " + abs.getFileName());
        }
        SavedModel model = new SavedModel(abs.getParent(), metadata);
        verify(model);
        return model;
    }

    /** The metadata file next to a model file: {@code model.pt} → {@code model.json}. */
    public static Path sidecarOf(Path modelFile) {
        String name = modelFile.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return modelFile.resolveSibling((dot > 0 ? name.substring(0, dot) : name) + ".json");
    }

    /**
     * Checks the parameter file against the metadata's sha256 (a model without a recorded sha256 passes).
     *
     * @throws KdException on a missing file or a mismatch
     */
    public static void verify(SavedModel model) {
        Path params = model.parametersPath();
        if (!Files.isRegularFile(params)) {
            throw new KdException("Parameter file missing: " + params);
        }
        String expected = model.metadata().parametersSha256();
        if (!expected.isEmpty()) {
            String actual = Sha256.of(params);
            if (!actual.equals(expected)) {
                throw new KdException("Parameter file " + params + " is corrupt or was replaced: sha256 " + actual
                        + " != recorded " + expected);
            }
        }
    }

    /** Loads saved DJL parameters into a fresh block of the model's architecture. */
    public static void loadParameters(Block block, NDManager manager, SavedModel model) {
        io.kdstream.core.djl.NativeWarnings.absorb();
        Path params = model.parametersPath();
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(params), 1 << 16))) {
            block.loadParameters(manager, in);
        } catch (IOException | MalformedModelException e) {
            throw new KdException("Cannot load parameters " + params + " into " + model.metadata().architecture()
                    + ": " + e.getMessage(), e);
        }
    }

    private static void writeParameters(Block block, Path file) throws IOException {
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16))) {
            block.saveParameters(out);
        }
    }

    private static void writeAtomically(Path file, String content) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, content, StandardCharsets.UTF_8);
        moveAtomically(tmp, file);
    }

    private static void moveAtomically(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static String readString(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new KdException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static void deleteQuietly(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            LOGGER.warn("Could not remove staging directory {}: {}", dir, e.toString());
        }
    }
}
