package io.kdstream.trainer.run;

import io.kdstream.core.KdException;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Step records leave on their own thread, in order, all of them by a drain, and a failure is not swallowed. */
class StepPublisherTest {

    private static final Serializer<String> UTF8 = (topic, s) -> s.getBytes(StandardCharsets.UTF_8);

    @Test
    void shouldSendEveryRecordInOrderByTheTimeADrainReturns() throws Exception {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer());
        try (StepPublisher<String> steps = new StepPublisher<>(producer, UTF8, "kd.metrics", 16, "test-steps")) {
            for (int i = 0; i < 2_000; i++) {
                steps.publish("run-1", "step-" + i);
            }
            steps.drain();

            List<ProducerRecord<byte[], byte[]>> sent = producer.history();
            assertThat(sent).hasSize(2_000);
            for (int i = 0; i < sent.size(); i++) {
                assertThat(new String(sent.get(i).value(), StandardCharsets.UTF_8)).isEqualTo("step-" + i);
                assertThat(new String(sent.get(i).key(), StandardCharsets.UTF_8)).isEqualTo("run-1");
                assertThat(sent.get(i).topic()).isEqualTo("kd.metrics");
            }
        }
    }

    @Test
    void shouldRethrowARecordThatCouldNotBeSerialisedOnTheNextCall() throws Exception {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer());
        Serializer<String> failing = (topic, s) -> {
            if (s.equals("bad")) {
                throw new IllegalStateException("registry unreachable");
            }
            return s.getBytes(StandardCharsets.UTF_8);
        };
        try (StepPublisher<String> steps = new StepPublisher<>(producer, failing, "kd.metrics", 4, "test-steps")) {
            steps.publish("run-1", "good");
            steps.publish("run-1", "bad");

            assertThatThrownBy(steps::drain).isInstanceOf(KdException.class)
                    .hasMessageContaining("kd.metrics").hasMessageContaining("registry unreachable");
            assertThatThrownBy(() -> steps.publish("run-1", "later")).isInstanceOf(KdException.class);
            assertThat(producer.history()).hasSize(1);
        }
    }

    @Test
    void shouldRefuseANonPositiveCapacity() {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer());
        assertThatThrownBy(() -> new StepPublisher<>(producer, UTF8, "t", 0, "x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("capacity");
    }
}
