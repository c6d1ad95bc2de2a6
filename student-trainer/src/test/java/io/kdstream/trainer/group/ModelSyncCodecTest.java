package io.kdstream.trainer.group;

import io.kdstream.avro.ModelSync;
import io.kdstream.avro.ModelSyncKind;
import io.kdstream.avro.PartitionRange;
import io.kdstream.core.KdException;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelSyncCodecTest {

    private static ModelSyncCodec.Message message(int bytes) {
        byte[] payload = new byte[bytes];
        new Random(bytes).nextBytes(payload);
        return new ModelSyncCodec.Message(ModelSyncKind.CONTRIBUTION, "g", 3, 7, "member-1", 96,
                List.of(new PartitionRange("t", 1, 10L, 106L)), payload, 2);
    }

    private static Optional<ModelSyncCodec.Message> feed(ModelSyncCodec.Assembler assembler, List<ModelSync> chunks) {
        Optional<ModelSyncCodec.Message> out = Optional.empty();
        for (ModelSync c : chunks) {
            assertThat(out).as("complete before the last chunk").isEmpty();
            out = assembler.add(c);
        }
        return out;
    }

    @Test
    void shouldRoundTripThroughChunksOfAtMostTheConfiguredSize() {
        ModelSyncCodec.Message m = message(10_000);
        List<ModelSync> chunks = ModelSyncCodec.encode(m, 1024);
        assertThat(chunks).hasSize(10).allSatisfy(c -> assertThat(c.getChunk().remaining()).isLessThanOrEqualTo(1024));
        ModelSyncCodec.Message back = feed(new ModelSyncCodec.Assembler(), chunks).orElseThrow();
        assertThat(back.payload()).isEqualTo(m.payload());
        assertThat(back.ranges()).isEqualTo(m.ranges());
        assertThat(back).extracting(ModelSyncCodec.Message::kind, ModelSyncCodec.Message::generation, ModelSyncCodec.Message::round,
                ModelSyncCodec.Message::memberId, ModelSyncCodec.Message::sampleCount, ModelSyncCodec.Message::epoch)
                .containsExactly(ModelSyncKind.CONTRIBUTION, 3, 7L, "member-1", 96L, 2);
    }

    @Test
    void shouldRoundTripEmptyAndExactMultiplePayloads() {
        assertThat(feed(new ModelSyncCodec.Assembler(), ModelSyncCodec.encode(message(0), 1024)).orElseThrow().payload()).isEmpty();
        List<ModelSync> exact = ModelSyncCodec.encode(message(2048), 1024);
        assertThat(exact).hasSize(2);
        assertThat(feed(new ModelSyncCodec.Assembler(), exact).orElseThrow().payload()).isEqualTo(message(2048).payload());
    }

    @Test
    void shouldReassembleInterleavedMessagesOfSeveralMembers() {
        List<ModelSync> a = ModelSyncCodec.encode(message(3000), 1000);
        ModelSyncCodec.Message other = new ModelSyncCodec.Message(ModelSyncKind.CONTRIBUTION, "g", 3, 7, "member-2", 1, List.of(),
                new byte[2500]);
        List<ModelSync> b = ModelSyncCodec.encode(other, 1000);
        ModelSyncCodec.Assembler assembler = new ModelSyncCodec.Assembler();
        List<ModelSyncCodec.Message> done = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            assembler.add(a.get(i)).ifPresent(done::add);
            assembler.add(b.get(i)).ifPresent(done::add);
        }
        assertThat(done).extracting(ModelSyncCodec.Message::memberId).containsExactly("member-1", "member-2");
        assertThat(assembler.incomplete()).isZero();
    }

    @Test
    void shouldRejectAMissingChunkWithAClearError() {
        List<ModelSync> chunks = new ArrayList<>(ModelSyncCodec.encode(message(5000), 1000));
        chunks.remove(2);
        assertThatThrownBy(() -> feed(new ModelSyncCodec.Assembler(), chunks))
                .isInstanceOf(KdException.class)
                .hasMessageContaining("chunk 3 of 5 arrived where chunk 2 was expected").hasMessageContaining("missing");
    }

    @Test
    void shouldRejectAMissingFirstChunk() {
        List<ModelSync> chunks = new ArrayList<>(ModelSyncCodec.encode(message(5000), 1000));
        chunks.remove(0);
        assertThatThrownBy(() -> feed(new ModelSyncCodec.Assembler(), chunks))
                .isInstanceOf(KdException.class).hasMessageContaining("missing");
    }

    @Test
    void shouldRejectABadSha256WithAClearError() {
        List<ModelSync> chunks = ModelSyncCodec.encode(message(3000), 1000);
        ByteBuffer tampered = ByteBuffer.allocate(chunks.get(1).getChunk().remaining());
        tampered.put(chunks.get(1).getChunk().duplicate()).flip();
        tampered.put(5, (byte) (tampered.get(5) ^ 1));
        chunks.get(1).setChunk(tampered);
        assertThatThrownBy(() -> feed(new ModelSyncCodec.Assembler(), chunks))
                .isInstanceOf(KdException.class).hasMessageContaining("sha256").hasMessageContaining("corrupted");
    }

    @Test
    void shouldRejectAShortChunk() {
        List<ModelSync> chunks = ModelSyncCodec.encode(message(3000), 1000);
        chunks.get(2).setChunk(ByteBuffer.wrap(new byte[10]));
        assertThatThrownBy(() -> feed(new ModelSyncCodec.Assembler(), chunks))
                .isInstanceOf(KdException.class).hasMessageContaining("missing or short");
    }

    @Test
    void shouldRoundTripFloatsLittleEndian() {
        float[] values = {0f, -0f, 1.5f, Float.MIN_VALUE, Float.MAX_VALUE, Float.NaN};
        byte[] bytes = ModelSyncCodec.toBytes(values);
        assertThat(bytes).hasSize(24);
        assertThat(bytes[8]).isEqualTo((byte) 0);
        assertThat(bytes[11]).isEqualTo((byte) 0x3F);
        assertThat(ModelSyncCodec.toFloats(bytes)).containsExactly(values);
    }
}
