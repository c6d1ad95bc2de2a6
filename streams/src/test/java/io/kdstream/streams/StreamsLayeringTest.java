package io.kdstream.streams;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/** The streams module depends on schemas and Kafka Streams only: no DJL, no core, no ops. */
class StreamsLayeringTest {

    private static final JavaClasses CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.kdstream.streams");

    @Test
    void shouldNotDependOnDjlCoreOrOps() {
        noClasses().that().resideInAPackage("io.kdstream.streams..")
                .should().dependOnClassesThat().resideInAnyPackage("ai.djl..", "io.kdstream.core..",
                        "io.kdstream.ops..", "io.kdstream.trainer..", "io.kdstream.teacher..")
                .check(CLASSES);
    }

    @Test
    void shouldNotReachIntoSchemaSerdeInternals() {
        noClasses().that().resideInAPackage("io.kdstream.streams..")
                .should().dependOnClassesThat().resideInAPackage("io.kdstream.schemas.serde.internals..")
                .check(CLASSES);
    }
}
