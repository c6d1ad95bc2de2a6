package io.kdstream.ops.consume;

import io.kdstream.avro.DType;
import io.kdstream.avro.Tensor;
import io.kdstream.schemas.tensor.TensorCodec;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericEnumSymbol;
import org.apache.avro.generic.GenericFixed;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Renders Kafka records as one JSON object per line for reading by people and by tools such as {@code jq}.
 *
 * <p>Avro values are written in their natural JSON form: records as objects, unions as the chosen branch (no Avro
 * union wrapper), enums as their symbol, {@code timestamp-millis} as ISO-8601 text. Bulk bytes are summarised:
 * a {@code Tensor} as its dtype, shape, element count, min/max/mean and its first few elements; other {@code bytes}
 * as their length and the base64 of their first bytes. With {@code full} every element and byte is written.
 */
public final class RecordJsonFormatter {

    /** Elements of a tensor, or bytes of a bytes field, shown when not printing in full. */
    public static final int PREVIEW = 8;
    static final String TENSOR_FULL_NAME = "io.kdstream.avro.Tensor";

    private final JsonFactory factory = new JsonFactory();
    private final boolean full;

    public RecordJsonFormatter(boolean full) {
        this.full = full;
    }

    /** One line for a record whose value decoded to {@code value} (null for a tombstone) with schema id {@code schemaId}. */
    public String format(ConsumerRecord<byte[], byte[]> record, Integer schemaId, Object value) {
        return write(g -> {
            writeCoordinates(g, record);
            if (schemaId != null) {
                g.writeNumberField("schemaId", schemaId);
            }
            g.writeFieldName("value");
            writeValue(g, value, null);
        });
    }

    /** One line for a record that could not be decoded: its coordinates, key, value size and the reason. */
    public String formatError(ConsumerRecord<byte[], byte[]> record, String reason) {
        return write(g -> {
            writeCoordinates(g, record);
            g.writeStringField("error", reason);
            g.writeNumberField("valueBytes", record.value() == null ? 0 : record.value().length);
            if (record.value() != null) {
                g.writeFieldName("valuePreview");
                writeBytes(g, ByteBuffer.wrap(record.value()));
            }
        });
    }

    private interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    private String write(Body body) {
        StringWriter out = new StringWriter(256);
        try (JsonGenerator g = factory.createGenerator(out)) {
            g.writeStartObject();
            body.write(g);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    private void writeCoordinates(JsonGenerator g, ConsumerRecord<byte[], byte[]> record) throws IOException {
        g.writeStringField("topic", record.topic());
        g.writeNumberField("partition", record.partition());
        g.writeNumberField("offset", record.offset());
        g.writeStringField("timestamp", Instant.ofEpochMilli(record.timestamp()).toString());
        g.writeFieldName("key");
        byte[] key = record.key();
        if (key == null) {
            g.writeNull();
        } else {
            String text = utf8OrNull(key);
            if (text != null) {
                g.writeString(text);
            } else {
                writeBytes(g, ByteBuffer.wrap(key));
            }
        }
    }

    /** The key as text when it is valid UTF-8 without control characters, else null. */
    static String utf8OrNull(byte[] bytes) {
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes));
            for (int i = 0; i < chars.length(); i++) {
                if (Character.isISOControl(chars.charAt(i))) {
                    return null;
                }
            }
            return chars.toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    private void writeValue(JsonGenerator g, Object value, Schema schema) throws IOException {
        if (value == null) {
            g.writeNull();
        } else if (value instanceof GenericRecord record) {
            writeRecord(g, record);
        } else if (value instanceof CharSequence || value instanceof GenericEnumSymbol<?>) {
            g.writeString(value.toString());
        } else if (value instanceof ByteBuffer buffer) {
            writeBytes(g, buffer);
        } else if (value instanceof GenericFixed fixed) {
            writeBytes(g, ByteBuffer.wrap(fixed.bytes()));
        } else if (value instanceof Map<?, ?> map) {
            writeMap(g, map, schema != null && schema.getType() == Schema.Type.MAP ? schema.getValueType() : null);
        } else if (value instanceof Collection<?> list) {
            writeArray(g, list, schema != null && schema.getType() == Schema.Type.ARRAY ? schema.getElementType() : null);
        } else {
            writeScalar(g, value, schema);
        }
    }

    private void writeRecord(JsonGenerator g, GenericRecord record) throws IOException {
        if (TENSOR_FULL_NAME.equals(record.getSchema().getFullName())) {
            writeTensor(g, record);
            return;
        }
        g.writeStartObject();
        for (Schema.Field field : record.getSchema().getFields()) {
            g.writeFieldName(field.name());
            writeValue(g, record.get(field.pos()), field.schema());
        }
        g.writeEndObject();
    }

    private void writeMap(JsonGenerator g, Map<?, ?> map, Schema valueSchema) throws IOException {
        g.writeStartObject();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            g.writeFieldName(String.valueOf(e.getKey()));
            writeValue(g, e.getValue(), valueSchema);
        }
        g.writeEndObject();
    }

    private void writeArray(JsonGenerator g, Collection<?> list, Schema itemSchema) throws IOException {
        g.writeStartArray();
        for (Object item : list) {
            writeValue(g, item, itemSchema);
        }
        g.writeEndArray();
    }

    /** Numbers, booleans and instants (a timestamp-millis long as an ISO instant); anything else as its string. */
    private static void writeScalar(JsonGenerator g, Object value, Schema schema) throws IOException {
        if (value instanceof Long l) {
            if (isTimestampMillis(schema)) {
                g.writeString(Instant.ofEpochMilli(l).toString());
            } else {
                g.writeNumber(l);
            }
        } else if (value instanceof Integer i) {
            g.writeNumber(i);
        } else if (value instanceof Float f) {
            writeFloat(g, f);
        } else if (value instanceof Double d) {
            writeDouble(g, d);
        } else if (value instanceof Boolean b) {
            g.writeBoolean(b);
        } else {
            // an Instant and any other value: its string form
            g.writeString(value.toString());
        }
    }

    private static boolean isTimestampMillis(Schema schema) {
        Schema s = schema;
        if (s != null && s.getType() == Schema.Type.UNION) {
            s = s.getTypes().stream().filter(t -> t.getType() == Schema.Type.LONG).findFirst().orElse(null);
        }
        // every long is a representable Instant in milliseconds
        return s != null && s.getLogicalType() instanceof LogicalTypes.TimestampMillis;
    }

    private static void writeFloat(JsonGenerator g, float f) throws IOException {
        if (Float.isFinite(f)) {
            g.writeNumber(f);
        } else {
            g.writeString(Float.toString(f));
        }
    }

    private static void writeDouble(JsonGenerator g, double d) throws IOException {
        if (Double.isFinite(d)) {
            g.writeNumber(d);
        } else {
            g.writeString(Double.toString(d));
        }
    }

    private void writeBytes(JsonGenerator g, ByteBuffer buffer) throws IOException {
        ByteBuffer b = buffer.duplicate();
        int length = b.remaining();
        int shown = full ? length : Math.min(length, 4 * PREVIEW);
        byte[] head = new byte[shown];
        b.get(head);
        g.writeStartObject();
        g.writeNumberField("bytes", length);
        g.writeStringField("base64", Base64.getEncoder().encodeToString(head));
        if (shown < length) {
            g.writeBooleanField("truncated", true);
        }
        g.writeEndObject();
    }

    private void writeTensor(JsonGenerator g, GenericRecord record) throws IOException {
        Object dtypeValue = record.get("dtype");
        Object shapeValue = record.get("shape");
        Object dataValue = record.get("data");
        g.writeStartObject();
        g.writeStringField("dtype", String.valueOf(dtypeValue));
        g.writeFieldName("shape");
        writeValue(g, shapeValue, null);
        ByteBuffer data = dataValue instanceof ByteBuffer bb ? bb.duplicate() : ByteBuffer.allocate(0);
        g.writeNumberField("bytes", data.remaining());
        try {
            List<Integer> shape = new ArrayList<>();
            for (Object dim : (Collection<?>) shapeValue) {
                shape.add(((Number) dim).intValue());
            }
            Tensor tensor = new Tensor(DType.valueOf(String.valueOf(dtypeValue)), shape, data);
            TensorCodec.validate("value", tensor);
            writeTensorValues(g, tensor);
        } catch (RuntimeException e) {
            g.writeStringField("error", e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
            g.writeFieldName("data");
            writeBytes(g, data);
        }
        g.writeEndObject();
    }

    private void writeTensorValues(JsonGenerator g, Tensor tensor) throws IOException {
        DType dtype = tensor.getDtype();
        double[] values = switch (dtype) {
            case FLOAT32, FLOAT16, BFLOAT16 -> toDoubles(TensorCodec.toFloats("value", tensor));
            case UINT8 -> {
                byte[] raw = TensorCodec.toUint8("value", tensor);
                double[] out = new double[raw.length];
                for (int i = 0; i < raw.length; i++) {
                    out[i] = raw[i] & 0xFF;
                }
                yield out;
            }
            case INT32 -> {
                int[] raw = TensorCodec.toInts("value", tensor);
                double[] out = new double[raw.length];
                for (int i = 0; i < raw.length; i++) {
                    out[i] = raw[i];
                }
                yield out;
            }
            case INT64 -> {
                long[] raw = TensorCodec.toLongs("value", tensor);
                double[] out = new double[raw.length];
                for (int i = 0; i < raw.length; i++) {
                    out[i] = raw[i];
                }
                yield out;
            }
        };
        boolean integral = dtype == DType.UINT8 || dtype == DType.INT32 || dtype == DType.INT64;
        g.writeNumberField("elements", values.length);
        int nonFinite = 0;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        double sum = 0;
        for (double v : values) {
            if (!Double.isFinite(v)) {
                nonFinite++;
                continue;
            }
            min = Math.min(min, v);
            max = Math.max(max, v);
            sum += v;
        }
        int finite = values.length - nonFinite;
        if (finite > 0) {
            writeNumber(g, "min", min, integral);
            writeNumber(g, "max", max, integral);
            g.writeNumberField("mean", Math.round(sum / finite * 1e4) / 1e4);
        }
        if (nonFinite > 0) {
            g.writeNumberField("nonFinite", nonFinite);
        }
        int shown = full ? values.length : Math.min(values.length, PREVIEW);
        g.writeFieldName(full ? "values" : "first");
        g.writeStartArray();
        for (int i = 0; i < shown; i++) {
            if (integral) {
                g.writeNumber((long) values[i]);
            } else {
                writeFloat(g, (float) values[i]);
            }
        }
        g.writeEndArray();
    }

    private static void writeNumber(JsonGenerator g, String name, double v, boolean integral) throws IOException {
        if (integral) {
            g.writeNumberField(name, (long) v);
        } else {
            g.writeNumberField(name, (float) v);
        }
    }

    private static double[] toDoubles(float[] floats) {
        double[] out = new double[floats.length];
        for (int i = 0; i < floats.length; i++) {
            out[i] = floats[i];
        }
        return out;
    }
}
