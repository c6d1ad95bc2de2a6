package io.kdstream.ops.demo;

import io.kdstream.ops.report.PipelineData;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The outcome of a demo run, as measured from the records the pipeline published.
 *
 * @param plan              the plan that ran
 * @param dataDir           where the stack kept its data (kept, so the run can be replayed)
 * @param report            the HTML report written
 * @param teacher           the teacher and how it was obtained
 * @param teacherServed     inputs the teacher-service consumed (outputs plus dead letters)
 * @param teacherPerSecond  inputs per second while serving
 * @param students          the trainers, baseline first
 * @param deadLetters       dead letters by "component / kind"
 * @param alertsFiring      alerts raised (state FIRING)
 * @param phaseSeconds      wall time of each phase, in order
 * @param notes             remarks about the run
 * @param data              what the report was drawn from
 */
public record DemoResult(DemoPlan plan, Path dataDir, Path report, TeacherSummary teacher, long teacherServed,
                         double teacherPerSecond, List<StudentSummary> students, Map<String, Long> deadLetters,
                         long alertsFiring, Map<String, Double> phaseSeconds, List<String> notes, PipelineData data,
                         long labelledImages) {

    /**
     * @param architecture model architecture
     * @param sha256       parameter sha256
     * @param accuracy     test accuracy from its metadata, or null
     * @param cached       whether it came from the model store instead of being trained now
     * @param modelDir     where it is stored
     */
    public record TeacherSummary(String architecture, String sha256, Double accuracy, boolean cached, Path modelDir) {
        public TeacherSummary {
            Objects.requireNonNull(architecture, "architecture");
            Objects.requireNonNull(sha256, "sha256");
        }
    }

    /**
     * @param role          "baseline (labels only)" or "distilled (KD)"
     * @param trainerId     trainer id in the metrics
     * @param group         consumer group
     * @param runId         run id
     * @param accuracy      last evaluation's accuracy, or null
     * @param samplesPerSecond samples per second over the run's published steps
     * @param steps         steps published
     * @param modelSha256   final model sha256, or null when the run did not finish
     */
    public record StudentSummary(String role, String trainerId, String group, String runId, Double accuracy,
                                 double samplesPerSecond, long steps, String modelSha256) {
        public StudentSummary {
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(trainerId, "trainerId");
            Objects.requireNonNull(runId, "runId");
        }
    }

    public DemoResult {
        Objects.requireNonNull(plan, "plan");
        Objects.requireNonNull(teacher, "teacher");
        students = List.copyOf(students);
        deadLetters = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(deadLetters));
        phaseSeconds = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(phaseSeconds));
        notes = List.copyOf(notes);
    }

    public long deadLetterTotal() {
        return deadLetters.values().stream().mapToLong(Long::longValue).sum();
    }

    public double totalSeconds() {
        return phaseSeconds.values().stream().mapToDouble(Double::doubleValue).sum();
    }

    /** The labels-only student, if one ran. */
    public java.util.Optional<StudentSummary> baseline() {
        return students.stream().filter(s -> s.role().startsWith("baseline")).findFirst();
    }

    /** Distilled minus labels-only test accuracy in percentage points, when both were evaluated. */
    public java.util.Optional<Double> gainPoints() {
        return distilled().flatMap(d -> baseline().flatMap(b -> d.accuracy() == null || b.accuracy() == null
                ? java.util.Optional.empty() : java.util.Optional.of(100 * (d.accuracy() - b.accuracy()))));
    }

    /** The distilling student, if one ran. */
    public java.util.Optional<StudentSummary> distilled() {
        return students.stream().filter(s -> s.role().startsWith("distilled")).findFirst();
    }
}
