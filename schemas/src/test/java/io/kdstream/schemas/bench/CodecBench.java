package io.kdstream.schemas.bench;

import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs {@link TensorCodecBenchmark} and {@link SerdeBenchmark} and prints one table: each operation's throughput in
 * GB/s of tensor (or wire) bytes, next to a plain copy of the same bytes measured in the same run, and their ratio.
 * Arguments are JMH's own ({@code -f}, {@code -wi}, {@code -i}, {@code -r}, {@code -p}, a benchmark regexp, ...);
 * without them every benchmark but {@code copyBuffer4} runs, with the fork, warm-up and measurement settings
 * annotated on its class.
 */
public final class CodecBench {

    private static final String CODEC = TensorCodecBenchmark.class.getName() + ".";
    private static final String SERDE = SerdeBenchmark.class.getName() + ".";

    /** Codec operations: bytes per element of the tensor they read or write, and their copy baseline. */
    private record Operation(String label, int bytesPerElement, String baseline) {
    }

    private static final Map<String, Operation> CODEC_OPERATIONS = new LinkedHashMap<>();

    static {
        CODEC_OPERATIONS.put("float32Decode", new Operation("float32 decode (into float[])", 4, "copy4"));
        CODEC_OPERATIONS.put("float32DecodeNew", new Operation("float32 decode (new float[])", 4, "copy4"));
        CODEC_OPERATIONS.put("float32Encode", new Operation("float32 encode (float[] -> Tensor)", 4, "copy4"));
        CODEC_OPERATIONS.put("float16Decode", new Operation("float16 decode (into float[])", 2, "copy2"));
        CODEC_OPERATIONS.put("bfloat16Decode", new Operation("bfloat16 decode (into float[])", 2, "copy2"));
        CODEC_OPERATIONS.put("uint8Decode", new Operation("uint8 decode (into float[])", 1, "copy1"));
        CODEC_OPERATIONS.put("copyBuffer4", new Operation("ByteBuffer bulk get (baseline)", 4, "copy4"));
    }

    private CodecBench() {
    }

    public static void main(String[] args) throws RunnerException {
        CommandLineOptions cli;
        try {
            cli = new CommandLineOptions(args);
        } catch (CommandLineOptionException e) {
            System.err.println("bad JMH options: " + e.getMessage());
            System.exit(2);
            return;
        }
        ChainedOptionsBuilder options = new OptionsBuilder().parent(cli);
        if (cli.getIncludes().isEmpty()) {
            // the second baseline (a ByteBuffer's bulk get) runs when asked for by name: it tracks the first
            options.include(TensorCodecBenchmark.class.getSimpleName()).include(SerdeBenchmark.class.getSimpleName())
                    .exclude("copyBuffer4");
        }
        Collection<RunResult> results = new Runner(options.build()).run();
        printTable(results, System.out);
    }

    static void printTable(Collection<RunResult> results, PrintStream out) {
        Map<String, Scores> byKey = new HashMap<>();
        for (RunResult run : results) {
            String benchmark = run.getParams().getBenchmark();
            String param = benchmark.startsWith(SERDE) ? run.getParams().getParam("record")
                    : run.getParams().getParam("shape");
            byKey.put(benchmark + "|" + param, Scores.of(run));
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"operation", "payload", "bytes/op", "ops/s (median)", "GB/s (median)", "GB/s (best)",
            "copy GB/s (best)", "ratio (best)"});
        for (String shape : paramValues(results, CODEC, "shape")) {
            int elements = BenchPayloads.elements(BenchPayloads.shape(shape));
            for (Map.Entry<String, Operation> entry : CODEC_OPERATIONS.entrySet()) {
                Operation op = entry.getValue();
                Scores result = byKey.get(CODEC + entry.getKey() + "|" + shape);
                Scores copy = byKey.get(CODEC + op.baseline() + "|" + shape);
                if (result != null) {
                    rows.add(row(op.label(), shape + " (" + elements + " el.)", (long) elements * op.bytesPerElement(),
                            result, copy));
                }
            }
        }
        for (String record : paramValues(results, SERDE, "record")) {
            long bytes = SerdeBenchmark.wireBytes(record);
            for (String op : List.of("serialize", "deserialize")) {
                Scores result = byKey.get(SERDE + op + "|" + record);
                if (result != null) {
                    rows.add(row("serde " + op, record, bytes, result, byKey.get(SERDE + "copy|" + record)));
                }
            }
        }
        out.println();
        out.println("GB/s = bytes/op x ops/s / 1e9; bytes/op are the tensor's data bytes (codec) or the record's wire"
                + " bytes (serde); copy = System.arraycopy of the same bytes in the same run; median and best are"
                + " over the measured iterations (on a shared machine the best is the least disturbed one); ratio ="
                + " best / copy's best.");
        print(rows, out);
    }

    private static List<String> paramValues(Collection<RunResult> results, String prefix, String param) {
        List<String> values = new ArrayList<>();
        for (RunResult run : results) {
            String value = run.getParams().getParam(param);
            if (run.getParams().getBenchmark().startsWith(prefix) && value != null && !values.contains(value)) {
                values.add(value);
            }
        }
        return values;
    }

    private static String[] row(String label, String payload, long bytes, Scores result, Scores copy) {
        String copyGbps = copy == null ? "-" : format("%.2f", copy.best() * bytes / 1e9);
        String ratio = copy == null ? "-" : format("%.2f", result.best() / copy.best());
        return new String[] {label, payload, Long.toString(bytes), format("%,.0f", result.median()),
            format("%.2f", result.median() * bytes / 1e9), format("%.2f", result.best() * bytes / 1e9), copyGbps, ratio};
    }

    /** The median and the best of a benchmark's measured iterations (ops/s), over all its forks. */
    private record Scores(double median, double best) {
        static Scores of(RunResult run) {
            List<Double> scores = new ArrayList<>();
            for (BenchmarkResult fork : run.getBenchmarkResults()) {
                for (IterationResult iteration : fork.getIterationResults()) {
                    scores.add(iteration.getPrimaryResult().getScore());
                }
            }
            double[] sorted = scores.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            int n = sorted.length;
            double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
            return new Scores(median, sorted[n - 1]);
        }
    }

    private static String format(String pattern, double value) {
        return String.format(Locale.ROOT, pattern, value);
    }

    private static void print(List<String[]> rows, PrintStream out) {
        int[] widths = new int[rows.get(0).length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        for (int r = 0; r < rows.size(); r++) {
            StringBuilder line = new StringBuilder("|");
            for (int i = 0; i < widths.length; i++) {
                String cell = rows.get(r)[i];
                String pad = " ".repeat(widths[i] - cell.length());
                line.append(' ').append(i < 2 ? cell + pad : pad + cell).append(" |");
            }
            out.println(line);
            if (r == 0) {
                StringBuilder rule = new StringBuilder("|");
                for (int width : widths) {
                    rule.append(' ').append("-".repeat(width)).append(" |");
                }
                out.println(rule);
            }
        }
    }
}
