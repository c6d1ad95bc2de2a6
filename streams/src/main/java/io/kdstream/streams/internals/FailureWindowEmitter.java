package io.kdstream.streams.internals;

import io.kdstream.avro.MonitorEvent;
import io.kdstream.avro.MonitorKind;

import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

import java.time.Instant;

/** Publishes the MonitorEvent of each closed failure-count window, keyed by component. */
public final class FailureWindowEmitter implements Processor<Windowed<String>, Long, String, MonitorEvent> {

    private final String lateStoreName;
    private ProcessorContext<String, MonitorEvent> context;
    private KeyValueStore<String, Long> lateCounts;

    public FailureWindowEmitter(String lateStoreName) {
        this.lateStoreName = lateStoreName;
    }

    @Override
    public void init(ProcessorContext<String, MonitorEvent> context) {
        this.context = context;
        this.lateCounts = context.getStateStore(lateStoreName);
    }

    @Override
    public void process(Record<Windowed<String>, Long> record) {
        String encoded = record.key().key();
        SubjectKey key = SubjectKey.decode(encoded);
        Long late = lateCounts.get(encoded);
        MonitorEvent event = MonitorEvent.newBuilder()
                .setMonitor(MonitorKind.FAILURE_COUNT)
                .setSubject(key.display())
                .setComponent(key.first())
                .setFailureKind(key.second())
                .setWindowStartMs(Instant.ofEpochMilli(record.key().window().start()))
                .setWindowEndMs(Instant.ofEpochMilli(record.key().window().end()))
                .setRecords(record.value() == null ? 0L : record.value())
                .setLateRecordsDropped(late == null ? 0L : late)
                .build();
        context.forward(record.withKey(key.first()).withValue(event));
    }
}
