package io.kdstream.it;

import io.kdstream.avro.FailureEvent;
import io.kdstream.avro.InputRecord;
import io.kdstream.avro.TeacherFeatures;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.core.KdException;
import io.kdstream.core.config.KdConfig;
import io.kdstream.it.support.ConfirmedSends;
import io.kdstream.it.support.ItTopics;
import io.kdstream.it.support.LocalKafka;
import io.kdstream.it.support.TeacherProps;
import io.kdstream.it.support.TopicProps;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.serve.TeacherConfig;
import io.kdstream.teacher.serve.TeacherService;
import io.kdstream.trainer.Replay;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Feature distillation through the companion features topic: the teacher-service (two workers, whose transactions
 * interleave) publishes each output's feature maps to {@code kd.teacher-features} and names them in the output; a
 * student that distils features joins them back by reference, trains on every record without a dead letter, and
 * replays bit for bit. A run that distils features from outputs without feature maps refuses to start.
 */
class FeatureCompanionIT {
    private static final String PREFIX = "featkd";
    private static final int CLASSES = 5;
    private static final int INPUTS = 600;

    @RegisterExtension
    static final LocalKafka STACK = LocalKafka.withoutDatasets();

    @Test
    void shouldDistilFeatureMapsJoinedFromTheCompanionTopicAndReplayBitForBit(@TempDir Path dir) throws Exception {
        // Given 600 images scored by a teacher with three feature maps, served with two workers
        Map<String, Object> base = base(PREFIX);
        KdConfig config = new KdConfig(base);
        ItTopics.createWithLeaders(config);
        produceInputs(config);
        serve(TeacherProps.smallTransactions(base, PREFIX));

        // (the outputs carry no maps, each names its own companion record, every record named once)
        List<TeacherOutput> outputs = ItTopics.readAll(config, config.topics().teacherOutputs(), TeacherOutput.class);
        List<TeacherFeatures> features = ItTopics.readAll(config, config.topics().teacherFeatures(), TeacherFeatures.class);
        assertThat(outputs).hasSize(INPUTS).allSatisfy(o -> {
            assertThat(o.getFeatures()).isEmpty();
            assertThat(o.getFeaturesRef().getTopic()).isEqualTo(config.topics().teacherFeatures());
        });
        Set<String> refs = new HashSet<>();
        outputs.forEach(o -> refs.add(o.getFeaturesRef().getPartition() + "@" + o.getFeaturesRef().getOffset()));
        assertThat(refs).hasSize(INPUTS);
        assertThat(features).hasSize(INPUTS);

        // When a cnn: student distils the logits and the feature maps for two epochs
        Map<String, Object> props = trainerProps(base, dir.resolve("run"));
        Trainer.Result result;
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props)).build()) {
            result = trainer.run();
        }

        // Then it trained on every output, twice, with its feature maps (a missing or foreign map is a dead letter)
        assertThat(result.completed()).isTrue();
        assertThat(result.samples()).isEqualTo(2L * INPUTS);
        assertThat(result.deadLetters()).isZero();
        assertThat(ItTopics.readAll(config, config.topics().dlq(), FailureEvent.class)).isEmpty();

        // When the run is replayed from its manifest into a fresh directory
        Replay.Outcome replay = Replay.run(Replay.findManifest(config, result.runId()), Map.of("bootstrap.servers",
                STACK.kafka().bootstrapServers(), "schema.registry.url", STACK.registry().url()), dir.resolve("replay"));

        // Then the same records with the same maps make the same model, bit for bit
        assertThat(replay.result().samples()).isEqualTo(result.samples());
        assertThat(replay.matches()).isTrue();
        System.out.printf(java.util.Locale.ROOT, "FeatureCompanionIT: %d outputs, %d companion records; feature KD run of %d "
                + "steps, %d samples, model %s, replay matches: %s%n", outputs.size(), features.size(), result.steps(),
                result.samples(), result.modelSha256().substring(0, 12), replay.matches());
    }

    @Test
    void shouldRefuseToDistilFeaturesFromOutputsThatCarryNone(@TempDir Path dir) throws Exception {
        // Given outputs of a teacher served with teacher.features=none
        Map<String, Object> base = base(PREFIX + "-none");
        KdConfig config = new KdConfig(base);
        ItTopics.createWithLeaders(config);
        produceInputs(config);
        Map<String, Object> teacherProps = TeacherProps.smallTransactions(base, PREFIX + "-none");
        teacherProps.put(TeacherConfig.FEATURES_CONFIG, "none");
        serve(teacherProps);

        // When a run that distils feature maps starts on them
        Throwable refused;
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(trainerProps(base, dir.resolve("run")))).build()) {
            refused = catchThrowable(trainer::run);
        }

        // Then it refuses with what to do, and trains on nothing
        assertThat(refused).isInstanceOf(KdException.class)
                .hasMessageContaining("kd.feature.weight=0.5")
                .hasMessageContaining("carry none")
                .hasMessageContaining("teacher.features");
        assertThat(ItTopics.readAll(config, config.topics().dlq(), FailureEvent.class)).isEmpty();
    }

    private static Map<String, Object> base(String prefix) {
        Map<String, Object> base = new HashMap<>();
        base.put("bootstrap.servers", STACK.kafka().bootstrapServers());
        base.put("schema.registry.url", STACK.registry().url());
        TopicProps.prefixed(base, prefix);
        base.put(KdConfig.TOPICS_PARTITIONS_CONFIG, "2");
        return base;
    }

    private static Map<String, Object> trainerProps(Map<String, Object> base, Path checkpoints) {
        Map<String, Object> props = new HashMap<>(base);
        props.put(TrainerConfig.STUDENT_CONFIG, "cnn:8,16:dense32");
        props.put(TrainerConfig.TEACHER_CONFIG, "stream");
        props.put(TrainerConfig.FEATURE_WEIGHT_CONFIG, "0.5");
        props.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, checkpoints.toString());
        props.put(TrainerConfig.GROUP_CONFIG, base.get(KdConfig.TOPIC_INPUTS_CONFIG) + "-trainer");
        props.put(TrainerConfig.EPOCHS_CONFIG, "2");
        props.put(TrainerConfig.BATCH_SIZE_CONFIG, "32");
        props.put(TrainerConfig.SHUFFLE_BUFFER_CONFIG, "128");
        props.put(TrainerConfig.CHECKPOINT_INTERVAL_CONFIG, "10");
        props.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "0");
        return props;
    }

    private static void serve(Map<String, Object> teacherProps) throws Exception {
        try (Teacher teacher = teacher();
             TeacherService service = TeacherService.builder().setConfig(new TeacherConfig(teacherProps)).setTeacher(teacher).build()) {
            service.start();
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (service.metrics().snapshot().outputs() < INPUTS) {
                assertThat(service.isRunning()).as("teacher workers alive").isTrue();
                assertThat(System.nanoTime()).as("teacher scored every input in time").isLessThan(deadline);
                Thread.sleep(50);
            }
        }
    }

    /** A seeded, untrained cnn: network for [3, 32, 32] inputs and 5 classes with maps at strides 2, 4 and an embedding. */
    private static Teacher teacher() {
        return SpecStudentIT.seededTeacher("cnn:4,8:dense8", 13, "featkd-teacher", "ef");
    }

    private static void produceInputs(KdConfig config) throws Exception {
        String topic = config.topics().inputs();
        Serializer<InputRecord> serializer = KdAvroSerdes.value(InputRecord.class, config.serdeProperties()).serializer();
        SplittableRandom r = new SplittableRandom(5);
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        for (int i = 0; i < INPUTS; i++) {
            String id = "featkd-" + i;
            InputRecord in = InputRecord.newBuilder().setId(id).setSource("featkd-it/shapes")
                    .setInput(TensorCodec.fromUint8(SpecStudentIT.image(i % CLASSES, r), 3, 32, 32)).setLabel(i % CLASSES)
                    .setLabels(null).setTimestampMs(Instant.ofEpochMilli(1_700_000_000_000L)).setAttributes(Map.of()).build();
            out.add(new ProducerRecord<>(topic, i % 2, id.getBytes(StandardCharsets.UTF_8), serializer.serialize(topic, in)));
        }
        ConfirmedSends.sendAll(config, "featkd-inputs", out);
    }
}
