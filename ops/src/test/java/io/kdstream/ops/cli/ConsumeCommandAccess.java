package io.kdstream.ops.cli;

import io.kdstream.ops.consume.RecordJsonFormatter;
import io.kdstream.ops.consume.WireFormatDecoder;

import org.apache.kafka.clients.consumer.ConsumerRecord;

/** Exposes {@link ConsumeCommand}'s per-record rendering to tests in other packages. */
public final class ConsumeCommandAccess {
    private ConsumeCommandAccess() {
    }

    public static String render(ConsumerRecord<byte[], byte[]> record, WireFormatDecoder decoder) {
        return ConsumeCommand.render(record, decoder, new RecordJsonFormatter(false));
    }
}
