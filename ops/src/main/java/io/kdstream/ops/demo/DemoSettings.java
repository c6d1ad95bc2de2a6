package io.kdstream.ops.demo;

import io.kdstream.core.model.ModelStore;
import io.kdstream.ops.cli.ProgressBar;
import io.kdstream.ops.observe.Observability;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;

/**
 * What a demo run is given: the plan, where its data and cached teachers live, where its lines and progress bars go.
 *
 * @param plan          how big the run is
 * @param dataDir       the stack's data directory (absolute)
 * @param store         model store of the cached teacher
 * @param dataset       directory of the Fashion-MNIST IDX files
 * @param console       where phase lines go
 * @param progress      where progress bars go
 * @param observability metrics registry to bind meters to, or null
 */
record DemoSettings(DemoPlan plan, Path dataDir, ModelStore store, Path dataset, PrintWriter console, Progress progress,
                    Observability observability) {

    /** Where progress bars go, and how they look. */
    record Progress(PrintStream out, ProgressBar.Mode mode) {
        ProgressBar bar(String label, long total) {
            return new ProgressBar(label, total, out, mode);
        }
    }
}
