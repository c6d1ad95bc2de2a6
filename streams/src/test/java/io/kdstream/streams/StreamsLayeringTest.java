package io.kdstream.streams;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/**
 * The streams module depends on schemas, Kafka Streams and the DJL-free shared layer ({@code core/common}: the config
 * keys and topic catalog every service shares) only: no DJL, no other part of core, no service, no ops.
 */
class StreamsLayeringTest {

    private static final JavaClasses CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.kdstream.streams");

    @Test
    void shouldNotDependOnDjlCoreOrOps() {
        noClasses().that().resideInAPackage("io.kdstream.streams..")
                .should().dependOnClassesThat().resideInAnyPackage("ai.djl..", "io.kdstream.core.data..",
                        "io.kdstream.core.djl..", "io.kdstream.core.model..", "io.kdstream.core.zoo..",
                        "io.kdstream.ops..", "io.kdstream.trainer..", "io.kdstream.teacher..")
                .check(CLASSES);
        // and its dependencies say so: no DJL class is on the module's classpath at all
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Class.forName("ai.djl.ndarray.NDArray"))
                .isInstanceOf(ClassNotFoundException.class);
    }

    @Test
    void shouldNotReachIntoSchemaSerdeInternals() {
        noClasses().that().resideInAPackage("io.kdstream.streams..")
                .should().dependOnClassesThat().resideInAPackage("io.kdstream.schemas.serde.internals..")
                .check(CLASSES);
    }
}
