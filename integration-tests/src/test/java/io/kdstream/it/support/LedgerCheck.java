package io.kdstream.it.support;

import io.kdstream.core.config.KdConfig;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.trainer.source.Batch;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * "Exactly once", record by record: a trainer's ledger (offset segments per step, in step order) against the records
 * the topic holds, read independently of the trainer with a plain read_committed consumer from the beginning to the
 * end offsets. A duplicate and a loss cannot cancel out, as they can in a sum of samples.
 */
public final class LedgerCheck {
    private LedgerCheck() {
    }

    /**
     * What one partition of a topic holds.
     *
     * @param begin   log start offset
     * @param end     end offset (the next offset to be written)
     * @param records offsets of the committed records; offsets in {@code [begin, end)} that are not here are
     *                transaction markers or aborted records, which no trainer reads
     */
    public record Partition(long begin, long end, NavigableSet<Long> records) {
    }

    /** Every partition of {@code topic}, by partition: its offsets, read from the topic up to its current end. */
    public static Map<Integer, Partition> held(KdConfig config, String topic) {
        try (Consumer<byte[], byte[]> consumer = KafkaClients.consumer(config, null, Map.of())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo p : consumer.partitionsFor(topic, Duration.ofSeconds(30))) {
                tps.add(new TopicPartition(topic, p.partition()));
            }
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<TopicPartition, Long> begin = consumer.beginningOffsets(tps, Duration.ofSeconds(30));
            Map<TopicPartition, Long> end = consumer.endOffsets(tps, Duration.ofSeconds(30));
            Map<Integer, NavigableSet<Long>> records = new TreeMap<>();
            tps.forEach(tp -> records.put(tp.partition(), new TreeSet<>()));
            long deadline = System.currentTimeMillis() + 60_000;
            while (tps.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                assertThat(System.currentTimeMillis()).as("read " + topic + " to its end offsets " + end).isLessThan(deadline);
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    assertThat(r.offset()).as("record offset on " + topic + "-" + r.partition())
                            .isLessThan(end.get(new TopicPartition(topic, r.partition())));
                    assertThat(records.get(r.partition()).add(r.offset())).as("offset read twice").isTrue();
                }
            }
            Map<Integer, Partition> out = new TreeMap<>();
            for (TopicPartition tp : tps) {
                out.put(tp.partition(), new Partition(begin.get(tp), end.get(tp), records.get(tp.partition())));
            }
            return out;
        }
    }

    /**
     * Asserts that {@code ledger} trained every record of {@code held} exactly once per epoch, for {@code epochs}
     * epochs, and nothing else:
     * <ul>
     *   <li>every segment lies in its partition's {@code [begin, end)} (none beyond the end);</li>
     *   <li>as a multiset over the whole ledger, every record offset is covered exactly {@code epochs} times, and an
     *       offset that holds no record (a transaction marker, which a group member's ranges may span) at most that
     *       often;</li>
     *   <li>per partition, in ledger order, the segments form {@code epochs} passes (a pass ends where a segment starts
     *       below the previous one's end): within a pass no offset is covered twice, and every record is covered.</li>
     * </ul>
     * The passes need a partition to be trained in offset order within an epoch, as online runs and group members do.
     *
     * @return the number of records checked per epoch
     */
    public static long assertEveryRecordOncePerEpoch(List<List<Batch.Segment>> ledger, Map<Integer, Partition> held,
                                                     int epochs) {
        assertThat(ledger).as("ledger steps").isNotEmpty();
        Map<Integer, List<Batch.Segment>> byPartition = new TreeMap<>();
        for (List<Batch.Segment> step : ledger) {
            for (Batch.Segment s : step) {
                Partition p = held.get(s.partition());
                assertThat(p).as("partition of ledger segment " + s).isNotNull();
                assertThat(s.start()).as("start of ledger segment " + s).isGreaterThanOrEqualTo(p.begin());
                assertThat(s.end()).as("end of ledger segment " + s + " (the partition ends at " + p.end() + ")")
                        .isLessThanOrEqualTo(p.end());
                byPartition.computeIfAbsent(s.partition(), k -> new ArrayList<>()).add(s);
            }
        }
        long recordsPerEpoch = 0;
        for (Map.Entry<Integer, Partition> e : held.entrySet()) {
            int partition = e.getKey();
            Partition p = e.getValue();
            recordsPerEpoch += p.records().size();
            List<Batch.Segment> segments = byPartition.getOrDefault(partition, List.of());
            if (p.records().isEmpty()) {
                continue;
            }
            // the multiset: how often each offset was trained over the whole ledger
            Map<Long, Integer> times = new TreeMap<>();
            for (Batch.Segment s : segments) {
                for (long o = s.start(); o < s.end(); o++) {
                    times.merge(o, 1, Integer::sum);
                }
            }
            for (long o : p.records()) {
                assertThat(times.getOrDefault(o, 0)).as("times record " + partition + ":" + o + " was trained").isEqualTo(epochs);
            }
            times.forEach((o, n) -> assertThat(n).as("times offset " + partition + ":" + o + " (no record) was covered")
                    .isLessThanOrEqualTo(epochs));
            // the passes: once per epoch, in order
            List<List<Batch.Segment>> passes = new ArrayList<>();
            long previousEnd = 0;
            for (Batch.Segment s : segments) {
                if (passes.isEmpty() || s.start() < previousEnd) {
                    passes.add(new ArrayList<>());
                }
                passes.get(passes.size() - 1).add(s);
                previousEnd = s.end();
            }
            assertThat(passes).as("passes over partition " + partition + " " + segments).hasSize(epochs);
            for (int epoch = 0; epoch < passes.size(); epoch++) {
                NavigableSet<Long> covered = new TreeSet<>();
                for (Batch.Segment s : passes.get(epoch)) {
                    for (long o = s.start(); o < s.end(); o++) {
                        assertThat(covered.add(o)).as("offset " + partition + ":" + o + " trained twice in epoch " + epoch).isTrue();
                    }
                }
                NavigableSet<Long> missing = new TreeSet<>(p.records());
                missing.removeAll(covered);
                assertThat(missing).as("records of partition " + partition + " not trained in epoch " + epoch).isEmpty();
            }
        }
        assertThat(byPartition.keySet()).as("partitions in the ledger").isSubsetOf(held.keySet());
        return recordsPerEpoch;
    }
}
