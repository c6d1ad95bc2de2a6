package io.kdstream.ops.demo;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The end-of-run summary: headline facts for the report and the table printed on the terminal. */
public final class SummaryTable {

    private SummaryTable() {
    }

    /** Headline figures (label → value), in the order the report shows them. */
    static Map<String, String> facts(DemoResult.TeacherSummary teacher, List<DemoResult.StudentSummary> students,
                                     long deadLetters, long alertsFiring, long served, double servedPerSecond,
                                     String replay) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("teacher accuracy", DemoRunner.percent(teacher.accuracy()) + " (" + teacher.architecture() + ", "
                + (teacher.cached() ? "cached" : "trained in this run") + ")");
        f.put("teacher sha256", teacher.sha256());
        f.put("teacher-service", String.format(Locale.ROOT, "%,d inputs, %,.0f inputs/s", served, servedPerSecond));
        for (DemoResult.StudentSummary s : students) {
            f.put(s.role() + " accuracy", DemoRunner.percent(s.accuracy()));
            f.put(s.role() + " samples/s", String.format(Locale.ROOT, "%,.0f over %,d steps", s.samplesPerSecond(), s.steps()));
            f.put(s.role() + " run id", s.runId() + " (trainer " + s.trainerId() + ", group " + s.group() + ")");
            f.put(s.role() + " model sha256", s.modelSha256() == null ? "n/a (not finished)" : s.modelSha256());
        }
        DemoResult.StudentSummary base = students.stream().filter(s -> s.role().startsWith("baseline")).findFirst().orElse(null);
        DemoResult.StudentSummary kd = students.stream().filter(s -> s.role().startsWith("distilled")).findFirst().orElse(null);
        if (base != null && kd != null && base.accuracy() != null && kd.accuracy() != null) {
            f.put("distillation gain", String.format(Locale.ROOT, "%+.2f pp (distilled vs labels-only)",
                    100 * (kd.accuracy() - base.accuracy())));
        }
        f.put("dead letters", Long.toString(deadLetters));
        f.put("alerts raised", Long.toString(alertsFiring));
        f.put("replay", replay);
        return f;
    }

    /** The terminal summary. */
    public static String render(DemoResult r) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%nkdstream demo (%s) finished in %s%n%n", r.plan().name(),
                formatDuration(r.totalSeconds())));
        String header = String.format(Locale.ROOT, "  %-26s %10s %14s %8s  %s%n", "model", "accuracy", "samples/s", "steps",
                "run id");
        sb.append(header);
        sb.append("  ").append("-".repeat(header.length() - 3)).append('\n');
        DemoResult.TeacherSummary t = r.teacher();
        sb.append(String.format(Locale.ROOT, "  %-26s %10s %14s %8s  %s%n", "teacher (" + (t.cached() ? "cached" : "new") + ")",
                DemoRunner.percent(t.accuracy()), String.format(Locale.ROOT, "%,.0f", r.teacherPerSecond()), "-",
                "served " + String.format(Locale.ROOT, "%,d", r.teacherServed()) + " inputs"));
        for (DemoResult.StudentSummary s : r.students()) {
            sb.append(String.format(Locale.ROOT, "  %-26s %10s %14s %8d  %s%n", s.role(), DemoRunner.percent(s.accuracy()),
                    String.format(Locale.ROOT, "%,.0f", s.samplesPerSecond()), s.steps(), s.runId()));
        }
        sb.append('\n');
        r.gainPoints().ifPresent(g -> sb.append(String.format(Locale.ROOT,
                "  distillation gain: %+.2f pp over labels-only; %,d of %,d training images (%.0f%%) carry a label%n",
                g, r.labelledImages(), r.plan().trainImages(), 100.0 * r.labelledImages() / r.plan().trainImages())));
        StringBuilder kinds = new StringBuilder();
        r.deadLetters().forEach((k, v) -> kinds.append(kinds.length() == 0 ? "" : ", ").append(k).append(": ").append(v));
        sb.append(String.format(Locale.ROOT, "  dead letters:    %d%s%n", r.deadLetterTotal(),
                kinds.length() == 0 ? "" : " (" + kinds + ")"));
        sb.append(String.format(Locale.ROOT, "  alerts raised:   %d%n", r.alertsFiring()));
        sb.append(String.format(Locale.ROOT, "  teacher sha256:  %s%n", t.sha256()));
        r.distilled().ifPresent(d -> {
            sb.append(String.format(Locale.ROOT, "  student sha256:  %s (run %s)%n",
                    d.modelSha256() == null ? "n/a" : d.modelSha256(), d.runId()));
            sb.append(String.format(Locale.ROOT, "  report:          %s%n", r.report()));
            sb.append("  re-train the distilled student from its manifest and compare the model sha256:\n");
            sb.append(String.format(Locale.ROOT, "    kdstream up --data-dir %s%n", r.dataDir()));
            sb.append(String.format(Locale.ROOT, "    kdstream replay --run %s      # in another terminal%n", d.runId()));
        });
        for (String note : r.notes()) {
            sb.append("  note: ").append(note).append('\n');
        }
        return sb.toString();
    }

    static String formatDuration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s % 3600) / 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
