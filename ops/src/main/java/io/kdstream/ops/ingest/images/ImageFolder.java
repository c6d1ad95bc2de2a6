package io.kdstream.ops.ingest.images;

import io.kdstream.core.KdException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * An image-folder dataset: one sub-folder per class, holding PNG and JPEG files (at any depth below it). Class names
 * are the sub-folder names; sorted by name they get the indices 0..n-1, unless a classes file (one name per line, line
 * {@code i} naming class {@code i}) fixes the mapping. Files are taken in the order of their relative paths; hidden
 * files and files of other types are left out and counted.
 *
 * @param root    the folder
 * @param classes class names in index order
 * @param images  the image files, in order
 * @param ignored files that are not PNG or JPEG (by extension) and were left out
 */
public record ImageFolder(Path root, List<String> classes, List<Entry> images, int ignored) {

    /** The name of the classes file written next to the data. */
    public static final String CLASSES_FILE = "classes.txt";

    /**
     * One image file.
     *
     * @param relativePath path below the root, with {@code /} separators: the record id
     * @param file         the file
     * @param className    its class (the sub-folder)
     * @param classIndex   the index of its class
     */
    public record Entry(String relativePath, Path file, String className, int classIndex) {
    }

    public ImageFolder {
        classes = List.copyOf(classes);
        images = List.copyOf(images);
    }

    /**
     * Lists {@code root}.
     *
     * @param classesFile null to number the sub-folders in name order; else the mapping to use, which must name every
     *                    sub-folder
     * @throws KdException when the folder has no class sub-folders, the classes file is unreadable, names a class twice
     *                     or misses a sub-folder
     */
    public static ImageFolder scan(Path root, Path classesFile) {
        if (!Files.isDirectory(root)) {
            throw new KdException(root + " is not a directory; expected one sub-folder per class holding PNG/JPEG files");
        }
        List<String> folders = new ArrayList<>();
        try (Stream<Path> children = Files.list(root)) {
            children.filter(Files::isDirectory).map(p -> p.getFileName().toString()).filter(n -> !n.startsWith("."))
                    .sorted().forEach(folders::add);
        } catch (IOException e) {
            throw new KdException("cannot list " + root + ": " + e.getMessage(), e);
        }
        if (folders.isEmpty()) {
            throw new KdException(root + " has no class sub-folders; expected one sub-folder per class (e.g. "
                    + root.resolve("cat") + "/001.png)");
        }
        List<String> classes = classesFile == null ? folders : readClasses(classesFile);
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < classes.size(); i++) {
            index.put(classes.get(i), i);
        }
        List<Entry> images = new ArrayList<>();
        int ignored = 0;
        for (String folder : folders) {
            Integer classIndex = index.get(folder);
            if (classIndex == null) {
                throw new KdException(classesFile + " does not name the class folder '" + folder + "' of " + root
                        + "; add it or move the folder away");
            }
            List<Path> files = listFiles(root.resolve(folder));
            for (Path file : files) {
                if (isImage(file)) {
                    String rel = root.relativize(file).toString().replace(file.getFileSystem().getSeparator(), "/");
                    images.add(new Entry(rel, file, folder, classIndex));
                } else {
                    ignored++;
                }
            }
        }
        return new ImageFolder(root, classes, images, ignored);
    }

    /** Reads a classes file: one class name per line, in index order; blank lines are not allowed between names. */
    public static List<String> readClasses(Path classesFile) {
        List<String> lines;
        try {
            lines = Files.readAllLines(classesFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new KdException("cannot read the classes file " + classesFile + ": " + e.getMessage(), e);
        }
        while (!lines.isEmpty() && lines.get(lines.size() - 1).isBlank()) {
            lines.remove(lines.size() - 1);
        }
        List<String> classes = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String name = lines.get(i).strip();
            if (name.isEmpty()) {
                throw new KdException(classesFile + ": line " + (i + 1) + " is blank; one class name per line");
            }
            if (classes.contains(name)) {
                throw new KdException(classesFile + ": class '" + name + "' appears twice (line " + (i + 1) + ")");
            }
            classes.add(name);
        }
        if (classes.isEmpty()) {
            throw new KdException(classesFile + " names no class");
        }
        return classes;
    }

    /**
     * The same folder with its images in a seeded random order (the same seed, the same order). An image folder lists
     * one class after another; published in that order, a stream trainer whose shuffle buffer is smaller than a class
     * would see long runs of one class and learn little (measured: a 5-class folder of 600 images, a 128-record shuffle
     * buffer, distilled student 30% on held-out images in name order, 88% with the whole stream in its buffer).
     */
    public ImageFolder shuffled(long seed) {
        List<Entry> order = new ArrayList<>(images);
        java.util.Collections.shuffle(order, new java.util.Random(seed));
        return new ImageFolder(root, classes, order, ignored);
    }

    /** Writes the class names, one per line in index order, to {@code file}. */
    public void writeClasses(Path file) throws IOException {
        Files.writeString(file, String.join("\n", classes) + "\n", StandardCharsets.UTF_8);
    }

    private static List<Path> listFiles(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile)
                    .filter(p -> !dir.relativize(p).toString().startsWith(".") && !p.getFileName().toString().startsWith("."))
                    .sorted(Comparator.comparing(p -> dir.relativize(p).toString().replace('\\', '/')))
                    .toList();
        } catch (IOException e) {
            throw new KdException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    static boolean isImage(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        return name.endsWith(".png") || name.endsWith(".jpg") || name.endsWith(".jpeg");
    }
}
