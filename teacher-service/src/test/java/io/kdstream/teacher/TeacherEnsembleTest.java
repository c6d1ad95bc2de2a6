package io.kdstream.teacher;

import io.kdstream.core.KdException;
import io.kdstream.core.model.ModelMetadata;
import io.kdstream.core.model.Sha256;
import io.kdstream.core.zoo.Architecture;
import io.kdstream.core.zoo.ModelZoo;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * An ensemble teacher publishes the mean of its members' logits and its first member's feature maps, and names every
 * member. Members: the TorchScript fixture and a randomly initialised zoo teacher (both take [1, 28, 28] and have ten
 * classes, so their logits differ).
 */
class TeacherEnsembleTest {
    private static final int N = 5;

    private static float[] inputs() {
        float[] x = new float[N * 784];
        for (int i = 0; i < x.length; i++) {
            x[i] = ((i * 7919) % 256) / 255f;
        }
        return x;
    }

    private static Teacher zooTeacher(long seed) {
        Architecture arch = ModelZoo.get(ModelZoo.FMNIST_CNN_TEACHER);
        Model model = Model.newInstance("zoo-" + seed, Device.cpu(), "PyTorch");
        model.setBlock(arch.newBlock());
        Engine.getInstance().setRandomSeed((int) seed);
        model.getBlock().initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 1, 28, 28));
        String sha = Sha256.of(("zoo teacher " + seed).getBytes(StandardCharsets.UTF_8));
        ModelMetadata meta = ModelMetadata.draft(arch, "parameters.djl").withSha256(sha).withVersion("v" + seed);
        return new Teacher(model, meta, new TeacherIdentity(arch.name(), "v" + seed, sha));
    }

    private static Teacher torchScriptTeacher() {
        return TeacherLoader.load(TorchScriptTeacherTest.fixture("tiny_teacher.pt"), Device.cpu());
    }

    @Test
    void shouldPublishTheMeanOfTheMembersLogitsAndTheFirstMembersFeatures() {
        float[] x = inputs();
        BatchOutput a;
        BatchOutput b;
        String shaA;
        String shaB;
        try (Teacher first = torchScriptTeacher(); TeacherPredictor p = first.newPredictor()) {
            a = p.predict(x, N);
            shaA = first.info().sha256();
        }
        try (Teacher second = zooTeacher(7); TeacherPredictor p = second.newPredictor()) {
            b = p.predict(x, N);
            shaB = second.info().sha256();
        }
        assertThat(a.logits()).as("members that disagree, so the mean is a real test").isNotEqualTo(b.logits());

        try (Teacher ensemble = Teacher.ensemble(List.of(torchScriptTeacher(), zooTeacher(7)));
             TeacherPredictor p = ensemble.newPredictor()) {
            BatchOutput out = p.predict(x, N);

            float[] mean = new float[a.logits().length];
            for (int i = 0; i < mean.length; i++) {
                mean[i] = (a.logits()[i] + b.logits()[i]) / 2f;
            }
            assertThat(out.logits()).containsExactly(mean);
            assertThat(out.features()).hasSize(a.features().size());
            for (int f = 0; f < a.features().size(); f++) {
                assertThat(out.features().get(f)).containsExactly(a.features().get(f));
            }
            assertThat(out.featureShapes()).isEqualTo(a.featureShapes());
            assertThat(ensemble.metadata().features()).isEqualTo(ensemble.members().get(0).features());
            assertThat(ensemble.members()).hasSize(2);
            assertThat(ensemble.info().name()).isEqualTo("tiny-torchscript-teacher+fmnist-cnn-teacher");
            assertThat(ensemble.info().version()).isEqualTo("1+v7");
            assertThat(ensemble.info().sha256())
                    .isEqualTo(Sha256.of((shaA + "\n" + shaB).getBytes(StandardCharsets.UTF_8)));
        }
    }

    @Test
    void shouldBeTheTeacherItselfForOneMember() {
        Teacher one = zooTeacher(3);
        try (Teacher ensemble = Teacher.ensemble(List.of(one))) {
            assertThat(ensemble).isSameAs(one);
        }
    }

    @Test
    void shouldRefuseMembersWithDifferentClassesAndLeaveThemOpen() {
        try (Teacher a = zooTeacher(1); Teacher b = zooTeacher(2)) {
            ModelMetadata m = b.metadata();
            Teacher fiveClasses = new Teacher(Model.newInstance("five", Device.cpu(), "PyTorch"),
                    new ModelMetadata(m.format(), "five-class", "1", m.inputShape(), 5, List.of(), m.parametersFile(),
                            m.parametersSha256(), m.testAccuracy(), m.training()),
                    new TeacherIdentity("five-class", "1", m.parametersSha256()));
            try (fiveClasses) {
                assertThatThrownBy(() -> Teacher.ensemble(List.of(a, fiveClasses)))
                        .isInstanceOf(KdException.class)
                        .hasMessageContaining("must share input shape and classes")
                        .hasMessageContaining("five-class");
                // still usable: the refused ensemble did not take them over
                try (TeacherPredictor p = a.newPredictor()) {
                    assertThat(p.predict(inputs(), N).numClasses()).isEqualTo(10);
                }
            }
        }
    }
}
