package io.kdstream.ops.demo;

import io.kdstream.core.KdException;
import io.kdstream.core.config.KdConfig;
import io.kdstream.ops.stack.LocalStack;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Phase 1: prepares the data directory (a new or empty one, or one a previous demo made, which is emptied) and starts
 * the local stack in it: a KRaft broker and the schema registry, on free ports.
 */
final class StackPhase {

    private static final Logger LOGGER = LoggerFactory.getLogger(DemoRunner.class);

    /**
     * The running stack.
     *
     * @param connection bootstrap servers, registry URL and the plan's partitions, as client settings
     * @param config     the same as a config
     */
    record Output(LocalStack stack, Map<String, Object> connection, KdConfig config) {
        String summary() {
            return "Kafka " + stack.bootstrapServers() + ", registry " + stack.registryUrl();
        }
    }

    private final DemoContext ctx;

    StackPhase(DemoContext ctx) {
        this.ctx = ctx;
    }

    Output run() {
        prepareDataDir(ctx.settings().dataDir());
        LocalStack stack = LocalStack.builder().optDataDir(ctx.settings().dataDir()).optKafkaPort(0).optRegistryPort(0).build();
        ctx.open("local stack", stack);
        stack.start();
        Map<String, Object> connection = connection(stack.bootstrapServers(), stack.registryUrl(),
                ctx.settings().plan().partitions());
        return new Output(stack, connection, new KdConfig(connection));
    }

    /** The client settings that reach the stack. */
    static Map<String, Object> connection(String bootstrapServers, String registryUrl, int partitions) {
        Map<String, Object> connection = new HashMap<>();
        connection.put(KdConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        connection.put(KdConfig.SCHEMA_REGISTRY_URL_CONFIG, registryUrl);
        connection.put(KdConfig.TOPICS_PARTITIONS_CONFIG, Integer.toString(partitions));
        return Map.copyOf(connection);
    }

    /** Creates {@code dataDir} with the demo's marker, emptying it first when a previous demo made it. */
    static void prepareDataDir(Path dataDir) {
        try {
            if (Files.isDirectory(dataDir)) {
                boolean empty;
                try (Stream<Path> entries = Files.list(dataDir)) {
                    empty = entries.findAny().isEmpty();
                }
                if (!empty) {
                    if (!Files.exists(dataDir.resolve(DemoRunner.MARKER_FILE))) {
                        throw new KdException("the data directory " + dataDir + " is not empty and was not made by "
                                + "kdstream demo; give an empty or new directory with --data-dir");
                    }
                    LOGGER.info("Replacing the previous demo's data in {}", dataDir);
                    deleteContents(dataDir);
                }
            }
            Files.createDirectories(dataDir);
            Files.writeString(dataDir.resolve(DemoRunner.MARKER_FILE),
                    "data of 'kdstream demo'; the next demo run replaces it\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the data directory " + dataDir, e);
        }
    }

    private static void deleteContents(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                if (!p.equals(dir)) {
                    Files.delete(p);
                }
            }
        }
    }
}
