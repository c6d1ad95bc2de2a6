package io.kdstream.core.djl;

/**
 * Pins the PyTorch engine's intra-op thread count ({@code ai.djl.pytorch.num_threads}) before the engine loads.
 *
 * <p>Left unset, the engine keeps the native runtime's defaults, under which the math library may choose its thread
 * count per call from the machine's load; CPU results are only bitwise repeatable for a fixed count. Entry points
 * (the command line, the trainer's main) call {@link #pin()} first, so a run and its replay on the same machine use
 * the same count, and the run manifest records it.
 */
public final class EngineThreads {
    /** The system property DJL's PyTorch engine reads at start-up. */
    public static final String PROPERTY = "ai.djl.pytorch.num_threads";

    private EngineThreads() {
    }

    /**
     * Sets {@link #PROPERTY} to the number of available processors unless it is already set; returns the value in
     * effect. Has no effect once the engine has loaded.
     */
    public static int pin() {
        String current = System.getProperty(PROPERTY);
        if (current != null && !current.isBlank()) {
            try {
                return Integer.parseInt(current.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("-D" + PROPERTY + " must be a whole number of threads, was '" + current + "'", e);
            }
        }
        int n = Runtime.getRuntime().availableProcessors();
        System.setProperty(PROPERTY, Integer.toString(n));
        return n;
    }
}
