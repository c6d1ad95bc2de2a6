package io.kdstream.it;

import io.kdstream.avro.DType;
import io.kdstream.avro.EvalResult;
import io.kdstream.avro.InputRecord;
import io.kdstream.avro.Logits;
import io.kdstream.avro.SourceCoordinates;
import io.kdstream.avro.TeacherInfo;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.zoo.ModelZoo;
import io.kdstream.it.support.ConfirmedSends;
import io.kdstream.it.support.KafkaTestCluster;
import io.kdstream.it.support.TestRegistry;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;
import io.kdstream.teacher.train.TeacherTrainer;
import io.kdstream.teacher.train.TrainingResult;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Benchmark, not a test (opt-in with {@code -Dkd.ema.bench=true}): Fashion-MNIST test accuracy of the MLP student
 * trained labels-only, with the EMA teacher, and with stream KD from a CNN teacher, at 100% and 10% of the labels,
 * over three seeds, on a subset of the training split read through a real broker. Prints a table of mean ± sample
 * standard deviation and writes it to {@code target/ema-bench.md}.
 *
 * <p>The stream teacher is trained in-process on the same subset with all of its labels (a teacher trained elsewhere),
 * so in the 10% rows stream KD has information the other two do not.
 */
@EnabledIfSystemProperty(named = "kd.ema.bench", matches = "true")
class EmaBenchIT {
    private static final int TRAIN = Integer.getInteger("kd.ema.bench.train", 6000);
    private static final int EPOCHS = Integer.getInteger("kd.ema.bench.epochs", 3);
    private static final int TEACHER_EPOCHS = Integer.getInteger("kd.ema.bench.teacher.epochs", 3);
    private static final long[] SEEDS = {1, 2, 3};
    private static final String TEACHER_SHA = "be".repeat(32);
    /**
     * Extra EMA-teacher rows, {@code name:key=value,key=value;name:...} (e.g. {@code no-aug:trainer.augment.noise.std=0,
     * trainer.augment.shift.pixels=0}), each run like the default EMA row with these settings on top.
     */
    private static final String VARIANTS = System.getProperty("kd.ema.bench.variants", "");

    @Test
    void shouldCompareLabelsOnlyEmaTeacherAndStreamKd(@TempDir Path dir) throws Exception {
        FashionMnist train = FashionMnist.load(FashionMnist.DEFAULT_DIR, FashionMnist.Split.TRAIN);
        FashionMnist test = FashionMnist.load(FashionMnist.DEFAULT_DIR, FashionMnist.Split.TEST);
        long t0 = System.nanoTime();
        float[][] teacherLogits;
        double teacherAccuracy;
        try (TrainingResult teacher = TeacherTrainer.builder().setTrainData(train).setTestData(test)
                .optArchitecture(ModelZoo.teacherCnn()).optEpochs(TEACHER_EPOCHS).optSeed(7).optLimit(TRAIN).build().train()) {
            teacherAccuracy = teacher.testAccuracy();
            teacherLogits = logits(teacher, train);
        }
        double teacherSeconds = (System.nanoTime() - t0) / 1e9;

        try (KafkaTestCluster kafka = KafkaTestCluster.start(); TestRegistry registry = TestRegistry.start(kafka.bootstrapServers())) {
            Map<String, Object> base = TrainerIT.Fixtures.props(kafka, registry, "bench", dir);
            base.put(TrainerConfig.EPOCHS_CONFIG, Integer.toString(EPOCHS));
            base.put(TrainerConfig.BATCH_SIZE_CONFIG, "64");
            base.put(TrainerConfig.SHUFFLE_BUFFER_CONFIG, "1024");
            base.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, "10000");
            base.put(TrainerConfig.CHECKPOINT_INTERVAL_CONFIG, "100000");
            TrainerIT.Fixtures.createTopics(base);
            produce(base, train, teacherLogits);

            Map<String, String> modes = new LinkedHashMap<>();
            modes.put("labels only", "none");
            modes.put("EMA teacher", "ema");
            modes.put("stream KD", "stream");
            Map<String, Map<String, String>> extra = new LinkedHashMap<>();
            for (String variant : VARIANTS.split(";")) {
                if (variant.isBlank()) {
                    continue;
                }
                String[] parts = variant.split(":", 2);
                Map<String, String> settings = new LinkedHashMap<>();
                for (String kv : parts[1].split(",")) {
                    String[] pair = kv.split("=", 2);
                    settings.put(pair[0].trim(), pair[1].trim());
                }
                modes.put("EMA " + parts[0].trim() + " (" + parts[1].trim() + ")", "ema");
                extra.put("EMA " + parts[0].trim() + " (" + parts[1].trim() + ")", settings);
            }
            StringBuilder table = new StringBuilder();
            table.append(String.format(Locale.ROOT, "Fashion-MNIST, MLP student, %d training images x %d epochs, test set of 10000, "
                    + "seeds %s; CNN teacher (stream KD) %.4f after %d epochs on the same %d images with all labels (%.0f s)%n%n",
                    TRAIN, EPOCHS, java.util.Arrays.toString(SEEDS), teacherAccuracy, TEACHER_EPOCHS, TRAIN, teacherSeconds));
            table.append("| labels | student | test accuracy (mean ± sd) | per seed | EMA teacher's own accuracy |\n");
            table.append("| --- | --- | --- | --- | --- |\n");
            KdConfig kd = new KdConfig(base);
            for (double fraction : new double[] {1.0, 0.1}) {
                for (Map.Entry<String, String> mode : modes.entrySet()) {
                    double[] acc = new double[SEEDS.length];
                    double[] emaAcc = new double[SEEDS.length];
                    for (int s = 0; s < SEEDS.length; s++) {
                        String runId = "bench-" + Integer.toHexString(mode.getKey().hashCode()) + "-" + fraction + "-" + SEEDS[s];
                        Map<String, Object> props = new LinkedHashMap<>(base);
                        props.put(TrainerConfig.TEACHER_CONFIG, mode.getValue());
                        props.put(TrainerConfig.SEED_CONFIG, Long.toString(SEEDS[s]));
                        props.put(TrainerConfig.LABEL_FRACTION_CONFIG, Double.toString(fraction));
                        props.put(TrainerConfig.RUN_ID_CONFIG, runId);
                        props.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, dir.resolve(runId).toString());
                        if (mode.getValue().equals("ema")) {
                            props.put(TrainerConfig.CONSISTENCY_RAMPUP_CONFIG, Long.toString(TRAIN / 64));
                        }
                        props.putAll(extra.getOrDefault(mode.getKey(), Map.of()));
                        Trainer.Result r;
                        try (Trainer trainer = Trainer.builder().setConfig(new TrainerConfig(props)).build()) {
                            r = trainer.run();
                        }
                        assertThat(r.completed()).isTrue();
                        acc[s] = r.accuracy();
                        emaAcc[s] = Double.NaN;
                        for (EvalResult e : TrainerIT.Fixtures.readAll(kd, kd.topics().eval(), EvalResult.class)) {
                            if (runId.equals(e.getRunId()) && e.getEmaTeacherAccuracy() != null) {
                                emaAcc[s] = e.getEmaTeacherAccuracy();
                            }
                        }
                        System.out.printf(Locale.ROOT, "EMA bench: %s labels=%.0f%% seed=%d accuracy=%.4f%n", mode.getKey(),
                                fraction * 100, SEEDS[s], acc[s]);
                    }
                    table.append(String.format(Locale.ROOT, "| %.0f%% | %s | %s | %s | %s |%n", fraction * 100, mode.getKey(),
                            meanSd(acc), perSeed(acc), Double.isNaN(emaAcc[0]) ? "" : meanSd(emaAcc)));
                }
            }
            table.append(String.format(Locale.ROOT, "%nTotal wall time %.0f s%n", (System.nanoTime() - t0) / 1e9));
            System.out.println(table);
            Path out = Path.of("target", "ema-bench.md");
            Files.createDirectories(out.getParent());
            Files.writeString(out, table.toString(), StandardCharsets.UTF_8);
        }
    }

    /** The teacher's logits for the first {@link #TRAIN} training images, in inference mode. */
    private static float[][] logits(TrainingResult teacher, FashionMnist train) {
        if (JniUtils.isGradMode()) {
            JniUtils.setGradMode(false);
        }
        float[][] out = new float[TRAIN][];
        int size = train.imageSize();
        byte[] pixels = train.pixels();
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int from = 0; from < TRAIN; from += 500) {
                int n = Math.min(500, TRAIN - from);
                float[] x = new float[n * size];
                for (int i = 0; i < n * size; i++) {
                    x[i] = (pixels[from * size + i] & 0xFF) / 255f;
                }
                try (NDManager scope = manager.newSubManager()) {
                    NDArray input = scope.create(x, new Shape(n, 1, 28, 28));
                    float[] flat = teacher.block().forward(new ParameterStore(scope, false), new NDList(input), false).get(0).toFloatArray();
                    for (int i = 0; i < n; i++) {
                        out[from + i] = java.util.Arrays.copyOfRange(flat, i * 10, (i + 1) * 10);
                    }
                }
            }
        }
        return out;
    }

    /** The same images as InputRecords (inputs topic) and as teacher outputs, keyed and partitioned alike. */
    private static void produce(Map<String, Object> props, FashionMnist train, float[][] logits) throws Exception {
        KdConfig config = new KdConfig(props);
        Serializer<InputRecord> inputs = KdAvroSerdes.value(InputRecord.class, config.serdeProperties()).serializer();
        Serializer<TeacherOutput> outputs = KdAvroSerdes.value(TeacherOutput.class, config.serdeProperties()).serializer();
        int partitions = config.topicPartitions();
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>(2 * TRAIN);
        for (int i = 0; i < TRAIN; i++) {
            String id = "fmnist-train-" + i;
            byte[] key = id.getBytes(StandardCharsets.UTF_8);
            InputRecord in = InputRecord.newBuilder().setId(id).setSource("fashion-mnist/train")
                    .setInput(TensorCodec.fromUint8(train.image(i), 28, 28)).setLabel(train.label(i)).setLabels(null)
                    .setTimestampMs(Instant.ofEpochMilli(1_700_000_000_000L)).setAttributes(Map.of()).build();
            TeacherOutput out = TeacherOutput.newBuilder().setInputId(id).setInput(in.getInput()).setLabel(train.label(i))
                    .setLabels(null).setTeacher(new TeacherInfo("bench-cnn", "1", TEACHER_SHA))
                    .setLogits(new Logits(10, TensorCodec.fromFloats(logits[i], DType.FLOAT32, 10), null))
                    .setFeatures(List.of()).setSource(new SourceCoordinates(config.topics().inputs(), i % partitions, (long) i / partitions))
                    .setProducedAtMs(Instant.ofEpochMilli(1_700_000_000_000L)).setAttributes(Map.of()).build();
            records.add(new ProducerRecord<>(config.topics().inputs(), i % partitions, key, inputs.serialize(config.topics().inputs(), in)));
            records.add(new ProducerRecord<>(config.topics().teacherOutputs(), i % partitions, key,
                    outputs.serialize(config.topics().teacherOutputs(), out)));
        }
        ConfirmedSends.sendAll(config, "bench", records);
    }

    private static String meanSd(double[] v) {
        double mean = 0;
        for (double x : v) {
            mean += x;
        }
        mean /= v.length;
        double ss = 0;
        for (double x : v) {
            ss += (x - mean) * (x - mean);
        }
        return String.format(Locale.ROOT, "%.4f ± %.4f", mean, Math.sqrt(ss / (v.length - 1)));
    }

    private static String perSeed(double[] v) {
        StringBuilder sb = new StringBuilder();
        for (double x : v) {
            sb.append(sb.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.4f", x));
        }
        return sb.toString();
    }
}
