package io.kdstream.schemas;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/** The schemas module stays free of DJL and Kafka Streams, and its internals stay internal. */
class SchemasLayeringTest {

    private static final JavaClasses CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.kdstream.schemas", "io.kdstream.avro");

    @Test
    void shouldNotDependOnDjlOrKafkaStreams() {
        noClasses().that().resideInAnyPackage("io.kdstream.schemas..", "io.kdstream.avro..")
                .should().dependOnClassesThat().resideInAnyPackage("ai.djl..", "org.apache.kafka.streams..")
                .check(CLASSES);
    }

    @Test
    void shouldKeepSerdeInternalsToTheSerdePackage() {
        noClasses().that().resideOutsideOfPackages("io.kdstream.schemas.serde..")
                .should().dependOnClassesThat().resideInAPackage("io.kdstream.schemas.serde.internals..")
                .check(CLASSES);
    }
}
