package io.kdstream.it;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/**
 * The module layering of ARCHITECTURE.md, checked on the compiled classes so that a wrong import fails the build:
 * schemas imports no DJL and no Kafka Streams; streams imports no DJL; nothing but ops itself depends on ops;
 * the library modules never depend on the services.
 */
class ArchitectureTest {

    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.kdstream");
    }

    @Test
    void schemasShouldNotDependOnDjlOrKafkaStreams() {
        ArchRule rule = noClasses().that().resideInAnyPackage("io.kdstream.schemas..", "io.kdstream.avro..")
                .should().dependOnClassesThat().resideInAnyPackage("ai.djl..", "org.apache.kafka.streams..")
                .because("schemas is the wire contract every component (and other tools) can use without DJL or Streams");
        rule.allowEmptyShould(true).check(classes);
    }

    @Test
    void streamsShouldNotDependOnDjl() {
        ArchRule rule = noClasses().that().resideInAPackage("io.kdstream.streams..")
                .should().dependOnClassesThat().resideInAnyPackage("ai.djl..", "io.kdstream.core.data..",
                        "io.kdstream.core.djl..", "io.kdstream.core.model..", "io.kdstream.core.zoo..")
                .because("the monitors run without DJL: streams depends on schemas and on core/common (the shared "
                        + "config and Kafka layer) only");
        rule.allowEmptyShould(true).check(classes);
    }

    @Test
    void theSharedConfigAndKafkaLayerShouldNotDependOnDjlOrTheRestOfCore() {
        ArchRule rule = noClasses().that().resideInAnyPackage("io.kdstream.core.config..", "io.kdstream.core.kafka..")
                .or().haveFullyQualifiedName("io.kdstream.core.KdException")
                .or().haveFullyQualifiedName("io.kdstream.core.RetriableKdException")
                .should().dependOnClassesThat().resideInAnyPackage("ai.djl..", "io.kdstream.core.data..",
                        "io.kdstream.core.djl..", "io.kdstream.core.model..", "io.kdstream.core.zoo..")
                .because("core/common is the DJL-free layer the monitors share with the services");
        rule.allowEmptyShould(true).check(classes);
    }

    @Test
    void nothingShouldDependOnOps() {
        ArchRule rule = noClasses().that().resideOutsideOfPackage("io.kdstream.ops..")
                .should().dependOnClassesThat().resideInAPackage("io.kdstream.ops..")
                .because("ops is the command line and local stack on top of everything");
        rule.allowEmptyShould(true).check(classes);
    }

    @Test
    void librariesShouldNotDependOnServices() {
        ArchRule rule = noClasses().that().resideInAnyPackage("io.kdstream.schemas..", "io.kdstream.avro..", "io.kdstream.core..")
                .should().dependOnClassesThat().resideInAnyPackage("io.kdstream.teacher..", "io.kdstream.trainer..", "io.kdstream.streams..")
                .because("core and schemas are shared libraries below the services");
        rule.allowEmptyShould(true).check(classes);
    }

    @Test
    void teacherAndTrainerShouldNotDependOnEachOther() {
        noClasses().that().resideInAPackage("io.kdstream.teacher..")
                .should().dependOnClassesThat().resideInAPackage("io.kdstream.trainer..").allowEmptyShould(true).check(classes);
        noClasses().that().resideInAPackage("io.kdstream.trainer..")
                .should().dependOnClassesThat().resideInAPackage("io.kdstream.teacher..").allowEmptyShould(true).check(classes);
    }

    /** The rooms of the student trainer: {@code loss}, {@code source}, {@code group}, {@code state}, {@code run}. */
    private static final String[] TRAINER_ROOMS = {"io.kdstream.trainer.loss..", "io.kdstream.trainer.source..",
        "io.kdstream.trainer.group..", "io.kdstream.trainer.state..", "io.kdstream.trainer.run.."};

    @Test
    void lossesShouldNotDependOnKafkaOrOnTheTrainersOtherRooms() {
        noClasses().that().resideInAPackage("io.kdstream.trainer.loss..")
                .should().dependOnClassesThat().resideInAnyPackage("org.apache.kafka..", "io.kdstream.avro..",
                        "io.kdstream.trainer.source..", "io.kdstream.trainer.group..", "io.kdstream.trainer.state..",
                        "io.kdstream.trainer.run..")
                .because("a loss is arithmetic over arrays: it knows nothing of records, groups or checkpoints")
                .allowEmptyShould(true).check(classes);
    }

    @Test
    void sourcesShouldNotDependOnTrainingStateOrDjlTraining() {
        noClasses().that().resideInAPackage("io.kdstream.trainer.source..")
                .should().dependOnClassesThat().resideInAnyPackage("ai.djl.training..", "io.kdstream.trainer.state..",
                        "io.kdstream.trainer.group..")
                .because("a source reads, decodes and batches records; the step and its state live in state")
                .allowEmptyShould(true).check(classes);
    }

    @Test
    void trainerRoomsShouldNotDependOnTheLoopsThatUseThem() {
        noClasses().that().resideInAnyPackage(TRAINER_ROOMS)
                .should().dependOnClassesThat(com.tngtech.archunit.base.DescribedPredicate.describe(
                        "a class of the training loop (io.kdstream.trainer.loop) or of io.kdstream.trainer (the entry points and "
                                + "TrainerConfig: the rooms take plain values, e.g. state.StepSettings)",
                        (com.tngtech.archunit.core.domain.JavaClass c) -> c.getPackageName().startsWith("io.kdstream.trainer.loop")
                                || c.getPackageName().equals("io.kdstream.trainer")))
                .because("the rooms are below the loop and its clients (Trainer, GroupTrainer, replays, benchmarks), which wire them")
                .allowEmptyShould(true).check(classes);
    }
}
