package io.kdstream.ops.ingest;

import io.kdstream.avro.InputRecord;
import io.kdstream.core.KdException;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class InputPublisherTest {

    private static final String TOPIC = "kd.inputs";

    @Test
    void shouldSendEveryRecordKeyedByItsIdAndCountLabelsBytesAndProgress() {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
        AtomicLong progress = new AtomicLong();
        try (KdAvroSerde<InputRecord> serde = serde()) {
            IngestResult result = new InputPublisher(producer, serde.serializer(), TOPIC)
                    .publish("src", 5, records(5).iterator(), progress::addAndGet);

            assertThat(result.records()).isEqualTo(5);
            assertThat(result.labelled()).isEqualTo(3);
            assertThat(progress.get()).isEqualTo(5);
            List<ProducerRecord<byte[], byte[]>> sent = producer.history();
            assertThat(sent).extracting(r -> new String(r.key(), StandardCharsets.UTF_8))
                    .containsExactly("r-0", "r-1", "r-2", "r-3", "r-4");
            assertThat(sent).allSatisfy(r -> assertThat(r.topic()).isEqualTo(TOPIC));
            assertThat(result.bytes()).isEqualTo(sent.stream().mapToLong(r -> r.key().length + r.value().length).sum());
        }
    }

    @Test
    void shouldFailNamingTheCountAndTheFirstReasonWhenASendFails() {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(false, null, new ByteArraySerializer(), new ByteArraySerializer());
        Iterator<InputRecord> records = records(3).iterator();
        Iterator<InputRecord> failingAfterSecond = new Iterator<>() {
            private int n;

            @Override
            public boolean hasNext() {
                return records.hasNext();
            }

            @Override
            public InputRecord next() {
                if (n++ == 2) {
                    producer.errorNext(new RuntimeException("broker said no"));
                    producer.completeNext();
                }
                return records.next();
            }
        };
        try (KdAvroSerde<InputRecord> serde = serde()) {
            assertThatThrownBy(() -> new InputPublisher(producer, serde.serializer(), TOPIC)
                    .publish("src", 3, failingAfterSecond, n -> { }))
                    .isInstanceOf(KdException.class)
                    .hasMessageContaining("of 3 src records could not be sent to kd.inputs")
                    .hasMessageContaining("broker said no");
        }
    }

    @Test
    void shouldNameTheRecordThatCannotBeSerialised() {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
        Serializer<InputRecord> broken = (topic, r) -> {
            throw new IllegalStateException("no registry");
        };
        assertThatThrownBy(() -> new InputPublisher(producer, broken, TOPIC).publish("src", 1, records(1).iterator(), n -> { }))
                .isInstanceOf(KdException.class).hasMessageContaining("r-0").hasMessageContaining("no registry");
    }

    private static KdAvroSerde<InputRecord> serde() {
        return KdAvroSerdes.value(InputRecord.class, Map.of("schema.registry.url", "mock://" + UUID.randomUUID()));
    }

    private static List<InputRecord> records(int n) {
        List<InputRecord> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(InputRecord.newBuilder().setId("r-" + i).setSource("src")
                    .setInput(TensorCodec.fromUint8(new byte[] {(byte) i, 1}, 2)).setLabel(i % 2 == 0 ? i : null)
                    .setTimestampMs(Instant.EPOCH).setAttributes(Map.of()).build());
        }
        return out;
    }
}
