package io.kdstream.streams.internals;

import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

import java.nio.ByteBuffer;
import java.util.function.Function;

/** Fixed-layout binary serdes of the monitors' internal state (stores and changelogs only, never public topics). */
public final class StateBytes {

    private StateBytes() {
    }

    /** Checks length and version of a state value and returns a buffer positioned after the version byte. */
    static ByteBuffer check(byte[] bytes, int size, byte version, String what) {
        if (bytes == null || bytes.length != size || bytes[0] != version) {
            throw new SerializationException("corrupt " + what + " state: "
                    + (bytes == null ? "null" : bytes.length + " bytes, version " + (bytes.length > 0 ? bytes[0] : -1))
                    + ", expected " + size + " bytes, version " + version);
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        buffer.get();
        return buffer;
    }

    /** A serde from a to-bytes and a from-bytes function; null stays null. */
    static <T> Serde<T> serde(Function<T, byte[]> write, Function<byte[], T> read) {
        Serializer<T> serializer = (topic, value) -> value == null ? null : write.apply(value);
        Deserializer<T> deserializer = (topic, bytes) -> bytes == null ? null : read.apply(bytes);
        return Serdes.serdeFrom(serializer, deserializer);
    }

    /** Serde of {@link LossAccumulator}. */
    public static Serde<LossAccumulator> lossAccumulator() {
        return serde(LossAccumulator::toBytes, LossAccumulator::fromBytes);
    }

    /** Serde of {@link LossRatioState}. */
    public static Serde<LossRatioState> lossRatioState() {
        return serde(LossRatioState::toBytes, LossRatioState::fromBytes);
    }

    /** Serde of {@link TrainerActivity}. */
    public static Serde<TrainerActivity> trainerActivity() {
        return serde(TrainerActivity::toBytes, TrainerActivity::fromBytes);
    }

    /** Serde of {@link WindowProgress}. */
    public static Serde<WindowProgress> windowProgress() {
        return serde(WindowProgress::toBytes, WindowProgress::fromBytes);
    }

    /** Serde of {@link RunEnd}. */
    public static Serde<RunEnd> runEnd() {
        return serde(RunEnd::toBytes, RunEnd::fromBytes);
    }
}
