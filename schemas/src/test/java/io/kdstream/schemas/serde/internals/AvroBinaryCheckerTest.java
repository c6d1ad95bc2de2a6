package io.kdstream.schemas.serde.internals;

import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AvroBinaryCheckerTest {

    private static final Schema EVERYTHING = SchemaBuilder.record("Everything").namespace("io.kdstream.test").fields()
            .requiredBoolean("flag")
            .requiredInt("i")
            .requiredLong("l")
            .requiredFloat("f")
            .requiredDouble("d")
            .requiredString("s")
            .requiredBytes("b")
            .name("fx").type().fixed("Four").size(4).noDefault()
            .name("e").type().enumeration("Colour").symbols("RED", "GREEN").noDefault()
            .name("u").type().unionOf().nullType().and().stringType().endUnion().noDefault()
            .name("a").type().array().items().longType().noDefault()
            .name("m").type().map().values().intType().noDefault()
            .endRecord();

    @Test
    void shouldAcceptEveryValidEncodingAndRejectEveryTruncation() throws IOException {
        GenericRecord record = new GenericData.Record(EVERYTHING);
        record.put("flag", true);
        record.put("i", -123456);
        record.put("l", Long.MIN_VALUE);
        record.put("f", 1.5f);
        record.put("d", -2.25);
        record.put("s", "héllo");
        record.put("b", ByteBuffer.wrap(new byte[] {1, 2, 3}));
        record.put("fx", new GenericData.Fixed(EVERYTHING.getField("fx").schema(), new byte[] {9, 8, 7, 6}));
        record.put("e", new GenericData.EnumSymbol(EVERYTHING.getField("e").schema(), "GREEN"));
        record.put("u", "x");
        record.put("a", List.of(1L, Long.MAX_VALUE, -5L));
        record.put("m", Map.of("k1", 1, "k2", 2));
        byte[] bytes = encode(EVERYTHING, record);
        AvroBinaryChecker checker = new AvroBinaryChecker(EVERYTHING);

        assertThatCode(() -> checker.check(bytes, 0, bytes.length)).doesNotThrowAnyException();
        for (int cut = 0; cut < bytes.length; cut++) {
            int length = cut;
            assertThatThrownBy(() -> checker.check(bytes, 0, length)).as("cut at %d", cut)
                    .isInstanceOf(AvroBinaryChecker.MalformedDataException.class);
        }
        byte[] padded = Arrays.copyOf(bytes, bytes.length + 1);
        assertThatThrownBy(() -> checker.check(padded, 0, padded.length)).hasMessageContaining("trailing");
    }

    @Test
    void shouldCheckOnlyTheGivenSliceOfALargerArray() throws IOException {
        Schema schema = SchemaBuilder.builder().stringType();
        byte[] encoded = encode(schema, "abc");
        byte[] framed = new byte[encoded.length + 10];
        System.arraycopy(encoded, 0, framed, 5, encoded.length);

        assertThatCode(() -> new AvroBinaryChecker(schema).check(framed, 5, encoded.length))
                .doesNotThrowAnyException();
    }

    @Test
    void shouldRejectHugeCountOfZeroSizeItemsWithoutWalkingThem() {
        Schema nulls = SchemaBuilder.array().items().nullType();
        // one block claiming 2^40 nulls: zero bytes each, so only a cap can stop it
        byte[] hostile = {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x40, 0x00};
        long start = System.nanoTime();

        assertThatThrownBy(() -> new AvroBinaryChecker(nulls).check(hostile, 0, hostile.length))
                .hasMessageContaining("empty items");
        assertThat(System.nanoTime() - start).isLessThan(1_000_000_000L);
    }

    @Test
    void shouldRejectBadBooleansEnumsUnionsAndVarints() {
        AvroBinaryChecker booleans = new AvroBinaryChecker(SchemaBuilder.builder().booleanType());
        AvroBinaryChecker enums = new AvroBinaryChecker(SchemaBuilder.enumeration("E").symbols("A", "B"));
        AvroBinaryChecker unions = new AvroBinaryChecker(SchemaBuilder.unionOf().nullType().and().intType()
                .endUnion());
        AvroBinaryChecker ints = new AvroBinaryChecker(SchemaBuilder.builder().intType());

        assertThatThrownBy(() -> booleans.check(new byte[] {2}, 0, 1)).hasMessageContaining("boolean");
        assertThatThrownBy(() -> enums.check(new byte[] {4}, 0, 1)).hasMessageContaining("out of range");
        assertThatThrownBy(() -> enums.check(new byte[] {1}, 0, 1)).hasMessageContaining("out of range"); // -1
        assertThatThrownBy(() -> unions.check(new byte[] {4, 0}, 0, 2)).hasMessageContaining("union");
        // 2^32 encoded as a long does not fit an int
        byte[] tooBig = {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x20};
        assertThatThrownBy(() -> ints.check(tooBig, 0, tooBig.length)).hasMessageContaining("int out of range");
    }

    @Test
    void shouldRejectSizedBlockWhoseByteCountDisagreesWithItsItems() {
        Schema longs = SchemaBuilder.array().items().longType();
        // block of -1 (one item) claiming 3 bytes, item 1 (one byte), end: 3 != 1
        byte[] lying = {0x01, 0x06, 0x02, 0x00, 0x00, 0x00};
        // same block with the right byte count
        byte[] honest = {0x01, 0x02, 0x02, 0x00};

        assertThatThrownBy(() -> new AvroBinaryChecker(longs).check(lying, 0, lying.length))
                .hasMessageContaining("claims 3 bytes");
        assertThatCode(() -> new AvroBinaryChecker(longs).check(honest, 0, honest.length))
                .doesNotThrowAnyException();
    }

    @Test
    void shouldStopRecursiveDataNestedTooDeep() {
        Schema node = new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"Node\",\"fields\":["
                + "{\"name\":\"next\",\"type\":[\"null\",\"Node\"]}]}");
        byte[] deep = new byte[10_001];
        Arrays.fill(deep, 0, 10_000, (byte) 0x02); // branch 1 (Node) again and again
        deep[10_000] = 0x00;                       // then null

        assertThatThrownBy(() -> new AvroBinaryChecker(node).check(deep, 0, deep.length))
                .hasMessageContaining("nested deeper");
        byte[] shallow = {0x02, 0x02, 0x00};
        assertThatCode(() -> new AvroBinaryChecker(node).check(shallow, 0, shallow.length))
                .doesNotThrowAnyException();
    }

    private static byte[] encode(Schema schema, Object datum) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<Object>(schema).write(datum, encoder);
        encoder.flush();
        return out.toByteArray();
    }
}
