package io.kdstream.ops.demo;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static io.kdstream.ops.demo.StudentsPhase.BASELINE_GROUP;
import static io.kdstream.ops.demo.StudentsPhase.KD_GROUP;
import static io.kdstream.ops.demo.StudentsPhase.KD_GROUP_LEARNING_RATE;
import static io.kdstream.ops.demo.StudentsPhase.KD_SYNC_INTERVAL_STEPS;
import static io.kdstream.ops.demo.StudentsPhase.KD_TRAINERS;

/** The remarks about a run that the summary and the report end with. */
final class DemoNotes {

    private DemoNotes() {
    }

    /** What a plan's run is known to show before it starts: how the students train, the labels, the plan's size. */
    static List<String> forPlan(DemoPlan plan) {
        List<String> notes = new ArrayList<>();
        notes.add("The distilled student is trained by a group of " + KD_TRAINERS.size() + " trainers (group " + KD_GROUP
                + ", trainer.group.training=true): the consumer group splits the partitions between them, and every "
                + KD_SYNC_INTERVAL_STEPS + " local steps they average their parameters through the model-sync topic, so "
                + "each ends with the same model. Its learning rate is the default times the " + KD_TRAINERS.size()
                + " members (" + KD_GROUP_LEARNING_RATE + "; linear scaling: a round averages one batch per member). "
                + "The labels-only baseline (group " + BASELINE_GROUP
                + ") reads the same teacher-outputs topic whole, on its own (fan-out).");
        notes.add(String.format(Locale.ROOT, "The stream is mostly unlabelled, as a production input topic is: %.0f%% of "
                + "the training images are published with their label (a fixed subset chosen by image id and seed), the "
                + "others without one. The teacher labels every image; the distilled student learns from all of them (the "
                + "teacher's logits everywhere, the task loss on the labelled ones), the labels-only baseline from the "
                + "labelled ones alone, for the same number of epochs.", 100 * plan.labelFraction()));
        notes.add("The " + (KD_TRAINERS.size() + 1) + " trainers run at once in this process and take turns for the "
                + "forward and backward pass (DJL's PyTorch engine records gradients for one trainer per process at a "
                + "time); started as separate processes ('kdstream train') they also compute in parallel.");
        if (plan.badRecords() > 0) {
            notes.add(plan.badRecords() + " malformed inputs (undecodable bytes and wrong tensor shapes) were published "
                    + "on purpose, to show the dead-letter path.");
        }
        if (!"full".equals(plan.name())) {
            notes.add("This is the '" + plan.name() + "' plan (" + plan.trainImages() + " training images, "
                    + plan.teacherEpochs() + " teacher epoch(s)): run 'kdstream demo' without --quick for the headline numbers.");
        }
        return notes;
    }

    /** The monitors were still behind when the topics were read back. */
    static String monitorsBehind(Duration drain) {
        return "The monitors had not processed every training step within " + drain.toSeconds()
                + " s of the end; the loss-ratio chart may miss the last windows.";
    }

    /** The loss-ratio band alert of the labels-only baseline, which is expected. */
    static String baselineLossRatioAlert(String baselineRunId) {
        return "The loss-ratio monitor also watches the labels-only baseline, whose KD loss is 0 by construction: "
                + "its LOSS_RATIO_BELOW_BAND alert for run " + baselineRunId + " is expected.";
    }
}
