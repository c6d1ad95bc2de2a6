package io.kdstream.ops.demo;

/**
 * The phases of a demo run, in the order they run: the number on the console ({@code [3/8]}) and the key of
 * {@link DemoResult#phaseSeconds()}.
 */
enum DemoPhase {
    STACK("stack"),
    TOPICS("topics"),
    INGEST("ingest"),
    TEACHER("teacher"),
    SERVE("serve"),
    STUDENTS("students"),
    READ_BACK("read back"),
    REPORT("report");

    private final String label;

    DemoPhase(String label) {
        this.label = label;
    }

    /** The key of the phase's wall time. */
    String label() {
        return label;
    }

    /** 1-based position in the run. */
    int number() {
        return ordinal() + 1;
    }

    /** How many phases a run has. */
    static int count() {
        return values().length;
    }
}
