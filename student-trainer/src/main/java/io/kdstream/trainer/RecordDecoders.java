package io.kdstream.trainer;

import io.kdstream.avro.InputRecord;
import io.kdstream.avro.TeacherOutput;
import io.kdstream.core.data.LabelSelection;
import io.kdstream.core.zoo.Architecture;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.trainer.source.InputRecordDecoder;
import io.kdstream.trainer.source.RecordDecoder;
import io.kdstream.trainer.source.TeacherOutputDecoder;

/**
 * The one place the trainer's record decoders are built from a run's settings and student: the bounded and online
 * runs, group members, group replays and the benchmark decode records the same way.
 */
final class RecordDecoders {
    private RecordDecoders() {
    }

    /**
     * The decoder of the teacher-outputs topic for {@code student}: the teacher's logits when the run distils from the
     * stream, its feature maps when {@code features}, labels kept per {@code trainer.label.fraction}.
     */
    static TeacherOutputDecoder teacherOutputs(TrainerConfig config, Architecture student, boolean features) {
        return new TeacherOutputDecoder(KdAvroSerdes.value(TeacherOutput.class, config.serdeProperties()).deserializer(),
                student.inputSize(), student.numClasses(), config.teacherStream(), features, labels(config),
                StudentArchitectures.recordShape(student));
    }

    /** The decoder of the inputs topic, for a run with the EMA teacher alone. */
    static InputRecordDecoder inputs(TrainerConfig config, Architecture student) {
        return new InputRecordDecoder(KdAvroSerdes.value(InputRecord.class, config.serdeProperties()).deserializer(),
                student.inputSize(), student.numClasses(), labels(config), StudentArchitectures.recordShape(student));
    }

    /** What the run reads: InputRecords for the EMA teacher alone ({@code inputs}), teacher outputs otherwise. */
    static RecordDecoder forRun(TrainerConfig config, Architecture student, TeacherOutputDecoder teacherOutputs) {
        return config.readsInputs() ? inputs(config, student) : teacherOutputs;
    }

    private static LabelSelection labels(TrainerConfig config) {
        return new LabelSelection(config.labelFraction(), config.seed());
    }
}
