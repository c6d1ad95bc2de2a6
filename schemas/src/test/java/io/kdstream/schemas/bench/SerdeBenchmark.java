package io.kdstream.schemas.bench;

import io.kdstream.schemas.registry.MockSchemaRegistry;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.serde.KdSerdeConfig;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Throughput of the Avro serde in Confluent wire format (with its default checks: tensor validation on both sides,
 * the binary check before decoding) against a System.arraycopy of the same wire bytes in the same fork. The
 * registry is the in-process {@code mock://} one; its id lookups are cached by the serde after the first record.
 * The warm-up is longer than the codec's: Avro's reader and writer take seconds to compile on a small machine. Forks
 * get a fixed, pre-touched heap, as in {@link TensorCodecBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms128m", "-Xmx128m", "-XX:+AlwaysPreTouch"})
@Warmup(iterations = 3, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 4, time = 500, timeUnit = TimeUnit.MILLISECONDS)
public class SerdeBenchmark {

    static final String TOPIC = "kd.bench";

    @Param({BenchPayloads.INPUT_RECORD, BenchPayloads.TEACHER_OUTPUT, BenchPayloads.TEACHER_OUTPUT_FMAP})
    public String record;

    private String scope;
    private KdAvroSerde<?> serde;
    private Serializer<SpecificRecord> serializer;
    private Deserializer<?> deserializer;
    private SpecificRecord datum;
    private byte[] wire;
    private byte[] copy;

    @Setup
    public void setUp() {
        scope = "bench-" + UUID.randomUUID();
        datum = BenchPayloads.record(record);
        serde = open(datum.getClass(), scope);
        serializer = serializerOf(serde);
        deserializer = serde.deserializer();
        wire = serializer.serialize(TOPIC, datum);
        copy = new byte[wire.length];
    }

    @TearDown
    public void tearDown() {
        serde.close();
        MockSchemaRegistry.dropScope(scope);
    }

    /** The wire size of the benchmark's record: header plus Avro binary. */
    static int wireBytes(String record) {
        String scope = "bench-size-" + UUID.randomUUID();
        SpecificRecord datum = BenchPayloads.record(record);
        try (KdAvroSerde<?> serde = open(datum.getClass(), scope)) {
            return serializerOf(serde).serialize(TOPIC, datum).length;
        } finally {
            MockSchemaRegistry.dropScope(scope);
        }
    }

    /** System.arraycopy of the record's wire bytes. */
    @Benchmark
    public byte[] copy() {
        System.arraycopy(wire, 0, copy, 0, wire.length);
        return copy;
    }

    @Benchmark
    public byte[] serialize() {
        return serializer.serialize(TOPIC, datum);
    }

    @Benchmark
    public Object deserialize() {
        return deserializer.deserialize(TOPIC, wire);
    }

    private static KdAvroSerde<?> open(Class<? extends SpecificRecord> type, String scope) {
        return KdAvroSerdes.value(type, Map.of(KdSerdeConfig.SCHEMA_REGISTRY_URL_CONFIG, "mock://" + scope));
    }

    @SuppressWarnings("unchecked")
    private static Serializer<SpecificRecord> serializerOf(KdAvroSerde<?> serde) {
        return (Serializer<SpecificRecord>) serde.serializer();
    }
}
