package io.kdstream.ops.demo;

import io.kdstream.avro.EvalResult;
import io.kdstream.avro.TrainingStep;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;

import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The students of the summary, measured from the steps and evaluations their trainers published. */
final class StudentSummaries {

    static final String BASELINE_ROLE = "baseline (labels only)";

    private StudentSummaries() {
    }

    /** The baseline first, then the distilled student trained by the group. */
    static List<DemoResult.StudentSummary> of(StudentsPhase.Output students, List<TrainingStep> steps,
                                              List<EvalResult> evals) {
        TrainerConfig baseline = students.baseline();
        return List.of(
                group(BASELINE_ROLE, List.of(baseline), students.results(), steps, evals),
                group(distilledRole(students.kd().size()), students.kd(), students.results(), steps, evals));
    }

    static String distilledRole(int members) {
        return "distilled (KD, " + members + " trainers)";
    }

    /**
     * One student trained by {@code members} (one trainer, or the members of a group, which end with the same model):
     * their steps together, the latest evaluation of any of them; named by the first member's run.
     */
    static DemoResult.StudentSummary group(String role, List<TrainerConfig> members, Map<String, Trainer.Result> results,
                                           List<TrainingStep> steps, List<EvalResult> evals) {
        TrainerConfig c = members.get(0);
        Set<String> runIds = new HashSet<>();
        members.forEach(m -> runIds.add(m.runId()));
        Trainer.Result result = results.get(c.runId());
        List<TrainingStep> mine = steps.stream().filter(s -> runIds.contains(s.getRunId())).toList();
        long samples = mine.stream().mapToLong(TrainingStep::getSamples).sum();
        double perSecond = 0;
        if (mine.size() > 1) {
            long first = mine.stream().mapToLong(s -> s.getTimestampMs().toEpochMilli()).min().orElse(0);
            long last = mine.stream().mapToLong(s -> s.getTimestampMs().toEpochMilli()).max().orElse(0);
            perSecond = last > first ? samples * 1000.0 / (last - first) : 0;
        }
        Double accuracy = evals.stream().filter(e -> runIds.contains(e.getRunId()))
                .max(Comparator.comparingLong(EvalResult::getStep)).map(EvalResult::getStudentAccuracy)
                .orElse(result == null ? null : result.accuracy());
        String trainerIds = String.join(", ", members.stream().map(TrainerConfig::trainerId).toList());
        return new DemoResult.StudentSummary(role, trainerIds, c.group(), c.runId(), accuracy, perSecond, mine.size(),
                result == null ? null : result.modelSha256());
    }
}
