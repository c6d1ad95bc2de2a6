package io.kdstream.it.support;

import io.kdstream.core.data.FashionMnist;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.nio.file.Files;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A real single-node broker and the development schema registry for one IT class, started before its first test and
 * stopped after its last: {@code @RegisterExtension static final LocalKafka STACK = LocalKafka.withFashionMnist();}.
 * The Fashion-MNIST variant skips the class, with the reason, where the dataset is not installed.
 */
public final class LocalKafka implements BeforeAllCallback, AfterAllCallback {

    private final boolean needsFashionMnist;
    private KafkaTestCluster kafka;
    private TestRegistry registry;

    private LocalKafka(boolean needsFashionMnist) {
        this.needsFashionMnist = needsFashionMnist;
    }

    /** Broker and registry for tests that read the Fashion-MNIST files. */
    public static LocalKafka withFashionMnist() {
        return new LocalKafka(true);
    }

    /** Broker and registry for tests that bring their own data. */
    public static LocalKafka withoutDatasets() {
        return new LocalKafka(false);
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        if (needsFashionMnist) {
            assumeTrue(Files.isDirectory(FashionMnist.DEFAULT_DIR), "Fashion-MNIST is not installed");
        }
        kafka = KafkaTestCluster.start();
        registry = TestRegistry.start(kafka.bootstrapServers());
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (registry != null) {
            registry.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    public KafkaTestCluster kafka() {
        return kafka;
    }

    public TestRegistry registry() {
        return registry;
    }
}
