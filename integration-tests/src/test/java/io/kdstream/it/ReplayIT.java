package io.kdstream.it;

import io.kdstream.avro.RunManifest;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.trainer.Replay;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;
import io.kdstream.it.support.LocalKafka;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Replaying a finished run from its manifest reproduces its model bit for bit, even after the topic has grown. */
class ReplayIT {

    @RegisterExtension
    static final LocalKafka STACK = LocalKafka.withFashionMnist();

    @Test
    void shouldReproduceTheFinalModelSha256FromTheManifestOnTheRunsTopic(@TempDir Path dir) throws Exception {
        // Given a finished distillation run over 400 teacher outputs (tiny CNN, learnt CTKD temperature: more state to restore)
        Map<String, Object> props = TrainerIT.Fixtures.props(STACK.kafka(), STACK.registry(), "replay", dir);
        props.put(TrainerConfig.STUDENT_CONFIG, "fmnist-tinycnn-student");
        props.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "0");
        props.put(TrainerConfig.EPOCHS_CONFIG, "1");
        props.put(TrainerConfig.CTKD_ENABLED_CONFIG, "true");
        TrainerIT.Fixtures.createTopics(props);
        TrainerIT.Fixtures.produce(props, 0, 400, TrainerIT.Fixtures::valid);
        Trainer.Result original;
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props)).build()) {
            original = trainer.run();
        }
        // ... and the topic has grown since
        TrainerIT.Fixtures.produce(props, 400, 500, TrainerIT.Fixtures::valid);

        // When the run is replayed from the manifest found on the runs topic
        Map<String, Object> connection = new HashMap<>();
        connection.put("bootstrap.servers", STACK.kafka().bootstrapServers());
        connection.put("schema.registry.url", STACK.registry().url());
        RunManifest manifest = Replay.findManifest(new KdConfig(props), original.runId());
        Replay.Outcome outcome = Replay.run(manifest, connection, dir.resolve("replay"));

        // Then it trained on exactly the same records and reproduced the same parameters
        assertThat(outcome.result().samples()).isEqualTo(original.samples());
        assertThat(outcome.result().modelSha256()).isEqualTo(original.modelSha256());
        assertThat(outcome.matches()).isTrue();
    }

    @Test
    void shouldReportAMismatchWhenTheSettingsDiffer(@TempDir Path dir) throws Exception {
        // Given a finished labels-only run
        Map<String, Object> props = TrainerIT.Fixtures.props(STACK.kafka(), STACK.registry(), "replay-mismatch", dir);
        props.put(TrainerConfig.TEACHER_CONFIG, "none");
        props.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "0");
        props.put(TrainerConfig.EPOCHS_CONFIG, "1");
        TrainerIT.Fixtures.createTopics(props);
        TrainerIT.Fixtures.produce(props, 0, 200, TrainerIT.Fixtures::valid);
        Trainer.Result original;
        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props)).build()) {
            original = trainer.run();
        }

        // When its manifest is replayed with another seed
        RunManifest manifest = original.manifest();
        Map<String, String> altered = new HashMap<>(manifest.getConfig());
        altered.put(TrainerConfig.SEED_CONFIG, "43");
        manifest.setConfig(altered);
        Map<String, Object> connection = Map.of("bootstrap.servers", STACK.kafka().bootstrapServers(), "schema.registry.url", STACK.registry().url());
        Replay.Outcome outcome = Replay.run(manifest, connection, dir.resolve("replay"));

        // Then the hashes differ and the outcome says so
        assertThat(outcome.result().modelSha256()).isNotEqualTo(original.modelSha256());
        assertThat(outcome.matches()).isFalse();
    }
}
