package io.kdstream.ops.cli;

import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.model.ModelStore;
import io.kdstream.core.model.SavedModel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class TeacherCommandTest {

    @TempDir
    Path tmp;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cli = KdstreamCli.newCommandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    @Test
    void shouldTrainSaveAsLatestAndValidateAgainstTheFloor() {
        Path store = tmp.resolve("models");

        int trained = run("teacher", "train", "--epochs", "1", "--limit", "600", "--batch-size", "50",
                "--test-limit", "1000", "--store", store.toString());

        assertThat(trained).as(err.toString()).isZero();
        assertThat(out.toString()).contains("epoch 1/1", "test acc", "Saved fmnist-cnn-teacher");
        Path latest = ModelStore.open(store).latest().orElseThrow();
        SavedModel saved = ModelStore.read(latest);
        ModelMetadata meta = saved.metadata();
        assertThat(meta.testAccuracy()).isPresent();
        assertThat(meta.training()).hasValueSatisfying(t -> assertThat(t.dataset()).isEqualTo("fashion-mnist/train[0:600]"));

        int refused = run("teacher", "validate", "--store", store.toString(), "--min-accuracy", "0.99",
                "--limit", "500");
        assertThat(refused).isEqualTo(TeacherCommand.EXIT_BELOW_FLOOR);
        assertThat(err.toString()).contains("Refused", "below the floor 99.00%");

        int accepted = run("teacher", "validate", "--model", latest.toString(), "--min-accuracy", "0.3",
                "--limit", "500");
        assertThat(accepted).as(err.toString()).isZero();
        assertThat(out.toString()).contains("on 500 images (floor 30.00%)");

        // an ensemble of the model with itself: the mean of equal logits is those logits, so the same accuracy
        String single = out.toString().lines().filter(l -> l.contains("(floor 30.00%)")).findFirst().orElseThrow();
        String accuracy = single.substring(single.indexOf("test accuracy"));
        int ensemble = run("teacher", "validate", "--model", latest.toString(), "--model", latest.toString(),
                "--min-accuracy", "0.3", "--limit", "500");
        assertThat(ensemble).as(err.toString()).isZero();
        assertThat(out.toString()).contains("fmnist-cnn-teacher+fmnist-cnn-teacher " + meta.version() + "+"
                + meta.version() + ": " + accuracy);
    }

    @Test
    void shouldReportValidationAccuracyAndRecordNoTestAccuracyWhenHoldingOutImages() {
        Path store = tmp.resolve("models");

        int trained = run("teacher", "train", "--epochs", "1", "--limit", "300", "--validation", "200",
                "--batch-size", "50", "--no-flip", "--shift", "1", "--store", store.toString());

        assertThat(trained).as(err.toString()).isZero();
        assertThat(out.toString()).contains("epoch 1/1", "val acc", "validation accuracy").doesNotContain("test acc");
        ModelMetadata meta = ModelStore.read(ModelStore.open(store).latest().orElseThrow()).metadata();
        assertThat(meta.testAccuracy()).isEmpty();
        assertThat(meta.training()).hasValueSatisfying(t -> assertThat(t.dataset()).isEqualTo("fashion-mnist/train[0:300]"));
    }

    @Test
    void shouldFailWithAMessageWhenTheStoreIsEmpty() {
        int code = run("teacher", "validate", "--store", tmp.resolve("empty").toString());
        assertThat(code).isEqualTo(KdstreamCli.EXIT_FAILURE);
        assertThat(err.toString()).contains("kdstream teacher train");
        assertThat(Files.exists(tmp.resolve("empty").resolve("latest"))).isFalse();
    }
}
