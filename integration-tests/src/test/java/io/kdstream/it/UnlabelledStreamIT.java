package io.kdstream.it;

import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.RunManifest;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.avro.TrainingStep;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.data.LabelSelection;
import io.kdstream.trainer.Replay;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;
import io.kdstream.it.support.LocalKafka;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A mostly unlabelled stream, as a production input topic is: one teacher output in ten carries a label. The distilling
 * trainer trains on every record (the task term on the labelled ones), dead-letters none for a missing label and
 * replays bit for bit; the labels-only baseline trains on the labelled records alone and counts the ones it passed over.
 */
class UnlabelledStreamIT {

    private static final int RECORDS = 600;
    private static final LabelSelection TEN_PERCENT = new LabelSelection(0.1, 7);

    @RegisterExtension
    static final LocalKafka STACK = LocalKafka.withFashionMnist();

    /** Teacher output {@code i}, without its label unless the 10% selection keeps it. */
    private static TeacherOutput mostlyUnlabelled(int i) {
        TeacherOutput t = TrainerIT.Fixtures.valid(i);
        if (!TEN_PERCENT.keeps(t.getInputId())) {
            t.setLabel(null);
        }
        return t;
    }

    private static long labelledRecords() {
        return IntStream.range(0, RECORDS).filter(i -> TEN_PERCENT.keeps("fmnist-train-" + i)).count();
    }

    @Test
    void shouldDistilOnAStreamWithTenPercentLabelsWithoutADeadLetterAndReplayBitForBit(@TempDir Path dir) throws Exception {
        // Given 600 teacher outputs of which about 10% carry a label
        Map<String, Object> props = TrainerIT.Fixtures.props(STACK.kafka(), STACK.registry(), "unlabelled-kd", dir);
        props.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "200");
        TrainerIT.Fixtures.createTopics(props);
        TrainerIT.Fixtures.produce(props, 0, RECORDS, UnlabelledStreamIT::mostlyUnlabelled);
        long labelled = labelledRecords();
        assertThat(labelled).as("labelled records of the fixture").isBetween(40L, 90L);

        // When a distilling trainer trains two epochs over the stream
        Trainer.Result original;
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props)).build()) {
            original = trainer.run();
        }

        // Then it trained on every record once per epoch and dead-lettered nothing, least of all a missing label
        KdConfig config = new KdConfig(props);
        List<FailureEvent> deadLetters = TrainerIT.Fixtures.readAll(config, config.topics().dlq(), FailureEvent.class);
        assertThat(deadLetters).extracting(FailureEvent::getKind).doesNotContain(FailureKind.MISSING_LABEL);
        assertThat(deadLetters).isEmpty();
        assertThat(original.completed()).isTrue();
        assertThat(original.failedSteps()).isZero();
        assertThat(original.samples()).isEqualTo(2L * RECORDS);
        assertThat(original.skippedUnlabelled()).isZero();
        // ... every step says how many of its examples had a label, and together they are the labelled records twice
        List<TrainingStep> steps = TrainerIT.Fixtures.readAll(config, config.topics().metrics(), TrainingStep.class);
        assertThat(steps).hasSize((int) original.steps());
        assertThat(steps).allSatisfy(s -> assertThat(s.getLabelledSamples()).isNotNull().isBetween(0, s.getSamples()));
        assertThat(steps.stream().mapToLong(TrainingStep::getLabelledSamples).sum()).isEqualTo(2 * labelled);
        assertThat(steps).allSatisfy(s -> assertThat(Double.isFinite(s.getTotalLoss())).isTrue());
        // ... a batch without a labelled example has no task term
        steps.stream().filter(s -> s.getLabelledSamples() == 0)
                .forEach(s -> assertThat(s.getTaskLoss()).as("task loss of all-unlabelled step " + s.getStep()).isZero());

        // When the run is replayed from its manifest
        RunManifest manifest = Replay.findManifest(config, original.runId());
        Replay.Outcome outcome = Replay.run(manifest, Map.of("bootstrap.servers", STACK.kafka().bootstrapServers(),
                "schema.registry.url", STACK.registry().url()), dir.resolve("replay"));

        // Then the replay trained on the same records and reproduced the model bit for bit
        assertThat(outcome.result().samples()).isEqualTo(original.samples());
        assertThat(outcome.result().modelSha256()).isEqualTo(original.modelSha256());
        assertThat(outcome.matches()).isTrue();
        System.out.printf(java.util.Locale.ROOT, "UnlabelledStreamIT: %d records, %d labelled, %d steps, accuracy %.4f, sha %s%n",
                RECORDS, labelled, original.steps(), original.accuracy(), original.modelSha256());
    }

    @Test
    void shouldTrainTheLabelsOnlyBaselineOnTheLabelledRecordsAloneAndCountTheOthers(@TempDir Path dir) throws Exception {
        // Given the same mostly unlabelled stream
        Map<String, Object> props = TrainerIT.Fixtures.props(STACK.kafka(), STACK.registry(), "unlabelled-base", dir);
        props.put(TrainerConfig.TEACHER_CONFIG, "none");
        props.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "0");
        TrainerIT.Fixtures.createTopics(props);
        TrainerIT.Fixtures.produce(props, 0, RECORDS, UnlabelledStreamIT::mostlyUnlabelled);
        long labelled = labelledRecords();

        // When the labels-only baseline trains two epochs over it
        Trainer.Result result;
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props)).build()) {
            result = trainer.run();
        }

        // Then it trained on the labelled records only, passed over the others (counted) and dead-lettered nothing
        KdConfig config = new KdConfig(props);
        assertThat(result.completed()).isTrue();
        assertThat(result.samples()).isEqualTo(2 * labelled);
        assertThat(result.skippedUnlabelled()).isEqualTo(2 * (RECORDS - labelled));
        assertThat(TrainerIT.Fixtures.readAll(config, config.topics().dlq(), FailureEvent.class)).isEmpty();
        List<TrainingStep> steps = TrainerIT.Fixtures.readAll(config, config.topics().metrics(), TrainingStep.class);
        assertThat(steps).allSatisfy(s -> assertThat(s.getLabelledSamples()).isEqualTo(s.getSamples()));
        assertThat(steps).allSatisfy(s -> assertThat(s.getTaskLoss()).isPositive());
    }
}
