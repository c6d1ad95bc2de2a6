package io.kdstream.trainer.source;

import io.kdstream.avro.DType;
import io.kdstream.avro.FailureKind;
import io.kdstream.avro.FeatureMap;
import io.kdstream.avro.Logits;
import io.kdstream.avro.SourceCoordinates;
import io.kdstream.avro.TeacherFeatures;
import io.kdstream.avro.TeacherInfo;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.core.data.LabelSelection;
import io.kdstream.core.kafka.BadRecordException;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.internals.AutoOffsetResetStrategy;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CompanionFeaturesTest {
    private static final String FEATURES = "kd.teacher-features";
    private static final String OUTPUTS = "kd.teacher-outputs";

    private KdAvroSerde<TeacherFeatures> featureSerde;
    private KdAvroSerde<TeacherOutput> outputSerde;
    private LogConsumer consumer;

    /**
     * A consumer over a fixed log: records stay in the log (a seek back reads them again) and each poll returns at most
     * three records of each assigned, unpaused partition from its position, as a broker would.
     */
    static final class LogConsumer extends MockConsumer<byte[], byte[]> {
        final Map<TopicPartition, TreeMap<Long, ConsumerRecord<byte[], byte[]>>> log = new HashMap<>();
        int polls;

        LogConsumer() {
            super(AutoOffsetResetStrategy.EARLIEST.name());
        }

        void append(TopicPartition tp, long offset, byte[] key, byte[] value) {
            log.computeIfAbsent(tp, k -> new TreeMap<>()).put(offset, new ConsumerRecord<>(tp.topic(), tp.partition(), offset, key, value));
        }

        @Override
        public synchronized ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
            polls++;
            Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> out = new HashMap<>();
            for (TopicPartition tp : assignment()) {
                if (paused().contains(tp)) {
                    continue;
                }
                long position = position(tp);
                List<ConsumerRecord<byte[], byte[]>> batch = new ArrayList<>(
                        log.getOrDefault(tp, new TreeMap<>()).tailMap(position, true).values()).subList(0,
                        Math.min(3, log.getOrDefault(tp, new TreeMap<>()).tailMap(position, true).size()));
                if (!batch.isEmpty()) {
                    out.put(tp, batch);
                    seek(tp, batch.get(batch.size() - 1).offset() + 1);
                }
            }
            return new ConsumerRecords<>(out, Map.of());
        }
    }

    @BeforeEach
    void setUp() {
        Map<String, Object> serde = Map.of("schema.registry.url", "mock://" + UUID.randomUUID());
        featureSerde = KdAvroSerdes.value(TeacherFeatures.class, serde);
        outputSerde = KdAvroSerdes.value(TeacherOutput.class, serde);
        consumer = new LogConsumer();
    }

    @AfterEach
    void tearDown() {
        featureSerde.close();
        outputSerde.close();
    }

    private static SourceCoordinates source(long inputOffset) {
        return new SourceCoordinates("kd.inputs", 0, inputOffset);
    }

    private TeacherFeatures features(String id, long inputOffset, float value) {
        FeatureMap map = new FeatureMap("conv", 28, TensorCodec.fromFloats(new float[] {value, value + 1}, DType.FLOAT32, 2, 1, 1));
        return new TeacherFeatures(id, 0, source(inputOffset), List.of(map));
    }

    /** Writes the features of input {@code id} at {@code offset} of features partition {@code partition}. */
    private void write(int partition, long offset, String id, long inputOffset, float value) {
        consumer.append(new TopicPartition(FEATURES, partition), offset, id.getBytes(StandardCharsets.UTF_8),
                featureSerde.serializer().serialize(FEATURES, features(id, inputOffset, value)));
    }

    private CompanionFeatures reader(int window, long timeoutMs) {
        return new CompanionFeatures(() -> consumer, featureSerde.deserializer(), window, timeoutMs);
    }

    private static SourceCoordinates ref(int partition, long offset) {
        return new SourceCoordinates(FEATURES, partition, offset);
    }

    @Test
    void shouldReturnTheRecordEachReferenceNamesAcrossPartitionsAndOutOfOrderLookups() {
        // Given two features partitions with interleaved writers' records (offset 3 of partition 0 is a transaction marker)
        write(0, 0, "a", 0, 1f);
        write(0, 1, "b", 1, 2f);
        write(0, 2, "c", 2, 3f);
        write(0, 4, "d", 3, 4f);
        write(1, 0, "e", 4, 5f);
        write(1, 1, "f", 5, 6f);
        try (CompanionFeatures reader = reader(16, 1_000)) {
            // When the outputs name them in nearly, not exactly, the features' order and across partitions
            long[][] lookups = {{0, 1}, {0, 0}, {1, 1}, {0, 2}, {0, 4}, {1, 0}};
            String[] expected = {"b", "a", "f", "c", "d", "e"};
            for (int i = 0; i < lookups.length; i++) {
                TeacherFeatures f = reader.fetch(ref((int) lookups[i][0], lookups[i][1]));
                // Then each lookup returns exactly the record at that offset
                assertThat(f.getInputId()).as("lookup " + i).isEqualTo(expected[i]);
            }
            assertThat(reader.fetch(ref(0, 4)).getFeatures().get(0).getTensor())
                    .isEqualTo(TensorCodec.fromFloats(new float[] {4f, 5f}, DType.FLOAT32, 2, 1, 1));
            // and the reads seek only for each partition's first lookup and for the two lookups behind what was read
            // (0@0 after 0@1, 1@0 after 1@1); 0@2 was in the window, 0@4 a read on
            assertThat(reader.lookups()).isEqualTo(7);
            assertThat(reader.seeks()).isEqualTo(4);
        }
    }

    @Test
    void shouldSeekBackForARecordBehindItsWindow() {
        for (int i = 0; i < 10; i++) {
            write(0, i, "id" + i, i, i);
        }
        try (CompanionFeatures reader = reader(2, 1_000)) {
            assertThat(reader.fetch(ref(0, 9)).getInputId()).isEqualTo("id9");
            // offset 1 left the two-record window long ago: read again
            assertThat(reader.fetch(ref(0, 1)).getInputId()).isEqualTo("id1");
            assertThat(reader.seeks()).isEqualTo(2);
        }
    }

    @Test
    void shouldCallAReferenceToAnAbortedOrDeletedRecordMissing() {
        write(0, 0, "a", 0, 1f);
        write(0, 2, "c", 2, 3f); // offset 1 was aborted: read_committed never returns it
        try (CompanionFeatures reader = reader(16, 5_000)) {
            assertThatThrownBy(() -> reader.fetch(ref(0, 1)))
                    .isInstanceOfSatisfying(BadRecordException.class, e -> assertThat(e.kind()).isEqualTo(FailureKind.DESERIALIZATION))
                    .hasMessageContaining("kd.teacher-features-0@1").hasMessageContaining("no committed record there");
            // and once read past, an offset inside the window that holds nothing is missing at once
            assertThatThrownBy(() -> reader.fetch(ref(0, 1))).hasMessageContaining("no committed record there");
        }
    }

    @Test
    void shouldGiveUpOnARecordThatDoesNotBecomeReadableWithinTheTimeout() {
        write(0, 0, "a", 0, 1f);
        try (CompanionFeatures reader = reader(16, 300)) {
            assertThatThrownBy(() -> reader.fetch(ref(0, 5))).isInstanceOf(BadRecordException.class)
                    .hasMessageContaining("not readable within 300 ms");
        }
    }

    private ConsumerRecord<byte[], byte[]> output(String id, long inputOffset, SourceCoordinates featuresRef) {
        TeacherOutput t = TeacherOutput.newBuilder().setInputId(id).setInput(TensorCodec.fromUint8(new byte[784], 1, 28, 28))
                .setLabel(3).setLabels(null).setTeacher(new TeacherInfo("t", "1", "ab".repeat(32)))
                .setLogits(new Logits(10, TensorCodec.fromFloats(new float[10], DType.FLOAT32, 10), null))
                .setFeatures(List.of()).setFeaturesRef(featuresRef).setSource(source(inputOffset))
                .setProducedAtMs(Instant.ofEpochMilli(0)).setAttributes(Map.of()).build();
        return new ConsumerRecord<>(OUTPUTS, 0, inputOffset, id.getBytes(StandardCharsets.UTF_8),
                outputSerde.serializer().serialize(OUTPUTS, t));
    }

    @Test
    void shouldJoinEachOutputWithTheFeatureMapsItNamesAndRefuseAForeignRecord() {
        write(0, 0, "a", 0, 1f);
        write(0, 1, "b", 1, 7f);
        try (TeacherOutputDecoder decoder = new TeacherOutputDecoder(outputSerde.deserializer(), 784, 10, true, true,
                LabelSelection.ALL).withCompanion(reader(16, 1_000))) {
            // an output decodes with exactly the values of the feature record it names
            Example b = decoder.decode(output("b", 1, ref(0, 1)));
            assertThat(b.features()[0]).containsExactly(7f, 8f);
            assertThat(decoder.teacherFeatures()).extracting(d -> d.name() + "@" + d.stride()).containsExactly("conv@28");
            // the example carries the maps' descriptors, and so does a batch assembled from it (the step reads them there)
            assertThat(b.featureDescriptors()).isEqualTo(decoder.teacherFeatures());
            assertThat(BatchAssembler.assemble(OUTPUTS, 0, List.of(b), 784, 10, Cursor.NONE, Map.of(), 0, 0, null)
                    .featureDescriptors()).isEqualTo(decoder.teacherFeatures());
            // an output that names another input's record is a bad record, not a silent mismatch
            assertThatThrownBy(() -> decoder.decode(output("c", 2, ref(0, 0))))
                    .isInstanceOfSatisfying(BadRecordException.class, e -> assertThat(e.kind()).isEqualTo(FailureKind.SHAPE))
                    .hasMessageContaining("belongs to input a");
        }
    }

    @Test
    void shouldRefuseAReferenceWhenTheReaderHasNoFeaturesTopic() {
        try (TeacherOutputDecoder decoder = new TeacherOutputDecoder(outputSerde.deserializer(), 784, 10, true, true,
                LabelSelection.ALL)) {
            assertThatThrownBy(() -> decoder.decode(output("a", 0, ref(0, 0)))).isInstanceOf(BadRecordException.class)
                    .hasMessageContaining("no features topic");
        }
    }
}
