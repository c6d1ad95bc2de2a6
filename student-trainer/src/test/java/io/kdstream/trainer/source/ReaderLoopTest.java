package io.kdstream.trainer.source;

import io.kdstream.avro.FailureKind;
import io.kdstream.avro.PartitionRange;
import io.kdstream.core.kafka.BadRecordException;
import io.kdstream.trainer.loop.CheckpointHook;
import io.kdstream.trainer.loop.TrainingLoop;
import io.kdstream.trainer.state.TrainingCore.StepOutcome;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The training loop over a real {@link BatchReader} fed by Kafka's {@code MockConsumer} (a fixed log, see
 * {@link CompanionFeaturesTest.LogConsumer}): every record trained once per epoch, a resumed run trains exactly the
 * batches an uninterrupted one would from its checkpoint's cursor, bad records are dead-lettered and never trained.
 * Each example's input carries its partition and offset, so the test reads what every step trained from the batch.
 */
class ReaderLoopTest {
    private static final String TOPIC = "kd.teacher-outputs";
    private static final int PARTITIONS = 2;
    private static final int RECORDS = 13; // per partition: not a multiple of the batch or the shuffle block
    private static final int INPUT = 3;
    private static final int CLASSES = 4;
    /** The offset of partition 1 whose record cannot be decoded. */
    private static final long BAD_OFFSET = 5;

    private static CompanionFeaturesTest.LogConsumer log() {
        CompanionFeaturesTest.LogConsumer consumer = new CompanionFeaturesTest.LogConsumer();
        for (int p = 0; p < PARTITIONS; p++) {
            TopicPartition tp = new TopicPartition(TOPIC, p);
            for (long o = 0; o < RECORDS; o++) {
                consumer.append(tp, o, null, new byte[] {(byte) p, (byte) o});
            }
        }
        Map<TopicPartition, Long> begin = new HashMap<>();
        Map<TopicPartition, Long> end = new HashMap<>();
        for (int p = 0; p < PARTITIONS; p++) {
            begin.put(new TopicPartition(TOPIC, p), 0L);
            end.put(new TopicPartition(TOPIC, p), (long) RECORDS);
        }
        consumer.updateBeginningOffsets(begin);
        consumer.updateEndOffsets(end);
        return consumer;
    }

    /** Input {partition, offset, 0}, label offset mod classes; partition 1 offset {@link #BAD_OFFSET} is malformed. */
    private static Example decode(ConsumerRecord<byte[], byte[]> r) {
        if (r.partition() == 1 && r.offset() == BAD_OFFSET) {
            throw new BadRecordException(FailureKind.DESERIALIZATION, "malformed test record");
        }
        return new Example(r.partition(), r.offset(), new float[] {r.value()[0], r.value()[1], 0}, null,
                (int) (r.offset() % CLASSES), null);
    }

    private static List<PartitionRange> ranges() {
        List<PartitionRange> out = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
            out.add(new PartitionRange(TOPIC, p, 0L, (long) RECORDS));
        }
        return out;
    }

    private record Trained(int epoch, int partition, long offset) {
    }

    /** What one process trained, step by step, and what it dead-lettered and checkpointed. */
    private static final class Run {
        final List<List<Trained>> steps = new ArrayList<>();
        final List<String> deadLetters = new ArrayList<>();
        final List<Cursor> checkpoints = new ArrayList<>();
        TrainingLoop.Progress progress;
        TrainingLoop.End end;
        CompanionFeaturesTest.LogConsumer consumer;
    }

    private static Run run(Cursor from, long startStep, long maxSteps) throws InterruptedException {
        Run run = new Run();
        run.consumer = log();
        try (BatchReader reader = new BatchReader(() -> run.consumer, ranges(), from, 2, 7L, 4, 8, INPUT, CLASSES,
                ReaderLoopTest::decode, (record, cause) -> run.deadLetters.add(record.partition() + "@" + record.offset()
                + ": " + cause.getMessage()), 2)) {
            TrainingLoop.Stepper stepper = (batch, index) -> {
                List<Trained> trained = new ArrayList<>();
                for (int i = 0; i < batch.size(); i++) {
                    trained.add(new Trained(batch.epoch(), (int) batch.inputs()[i * INPUT],
                            (long) batch.inputs()[i * INPUT + 1]));
                }
                run.steps.add(trained);
                return new StepOutcome(true, 1, 1, 0, 1, 2, 0.9, 1e-3, 0, 0);
            };
            run.progress = new TrainingLoop.Progress(startStep, 0, 0, from);
            run.end = new TrainingLoop(reader, stepper, maxSteps, () -> false, List.of(new CheckpointHook(3, p -> {
                run.checkpoints.add(p.cursor());
                reader.requestCommit(p.cursor().blockStart());
            }))).run(run.progress);
        }
        return run;
    }

    private static Cursor start() {
        Map<Integer, Long> starts = new TreeMap<>();
        for (int p = 0; p < PARTITIONS; p++) {
            starts.put(p, 0L);
        }
        return Cursor.startOf(0, starts);
    }

    @Test
    void shouldTrainEveryGoodRecordOncePerEpochAndDeadLetterTheBadOneOnce() throws Exception {
        Run run = run(start(), 0, 0);
        assertThat(run.end).isEqualTo(TrainingLoop.End.EXHAUSTED);
        Map<Trained, Integer> counts = new HashMap<>();
        run.steps.forEach(step -> step.forEach(t -> counts.merge(t, 1, Integer::sum)));
        for (int epoch = 0; epoch < 2; epoch++) {
            for (int p = 0; p < PARTITIONS; p++) {
                for (long o = 0; o < RECORDS; o++) {
                    int expected = p == 1 && o == BAD_OFFSET ? 0 : 1;
                    assertThat(counts.getOrDefault(new Trained(epoch, p, o), 0)).as("epoch %d record %d@%d", epoch, p, o)
                            .isEqualTo(expected);
                }
            }
        }
        assertThat(counts).hasSize(2 * (PARTITIONS * RECORDS - 1));
        // dead-lettered once (in the first epoch), not once per epoch
        assertThat(run.deadLetters).containsExactly("1@5: malformed test record");
        assertThat(run.progress.samples()).isEqualTo(2L * (PARTITIONS * RECORDS - 1));
        assertThat(run.progress.steps()).isEqualTo(run.steps.size());
        // checkpoints every third step, each at a cursor inside the range
        assertThat(run.checkpoints).hasSize((int) (run.progress.steps() / 3));
        run.checkpoints.forEach(c -> assertThat(c.blockStart().values()).allMatch(next -> next >= 0 && next <= RECORDS));
    }

    @Test
    void shouldResumeFromACheckpointCursorWithExactlyTheBatchesOfAnUninterruptedRun() throws Exception {
        Run whole = run(start(), 0, 0);
        // the first process stops at the step limit; its last checkpoint (step 6) is where the second one resumes,
        // as after a crash: steps 7 and 8 of the first process are trained again by the second
        Run first = run(start(), 0, 8);
        assertThat(first.end).isEqualTo(TrainingLoop.End.MAX_STEPS);
        assertThat(first.checkpoints).hasSize(2);
        Cursor checkpoint = first.checkpoints.get(1);
        Run second = run(checkpoint, 6, 0);
        List<List<Trained>> resumed = new ArrayList<>(first.steps.subList(0, 6));
        resumed.addAll(second.steps);
        assertThat(resumed).isEqualTo(whole.steps);
        assertThat(first.steps.subList(6, 8)).isEqualTo(whole.steps.subList(6, 8));
        assertThat(second.progress.steps()).isEqualTo(whole.progress.steps());
    }
}
