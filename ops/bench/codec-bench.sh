#!/usr/bin/env bash
# The tensor codec and Avro serde micro-benchmarks of docs/benchmarks.md (JMH): GB/s of each operation next to a
# plain System.arraycopy of the same bytes measured in the same run. Opt-in, not part of CI.
#
#   ops/bench/codec-bench.sh [JMH options]
#
# Compiles the schemas module's test sources (where the benchmarks live, io.kdstream.schemas.bench), then runs them
# in forked JVMs and prints a table. Without options each benchmark and payload gets one fork with the warm-up and
# measured iterations annotated on its class (short for the codec, a longer warm-up for the serde): 4-6 minutes
# in all on 2 busy cores. JMH options pass through, e.g.
#   ops/bench/codec-bench.sh -f 2 -i 8                          more forks and iterations
#   ops/bench/codec-bench.sh 'TensorCodecBenchmark.(copy4|float32.*)' -p shape=256x32x32    a subset
# MVN_OPTS_EXTRA is added to the Maven command line (default -o: offline, dependencies already present).
set -euo pipefail
cd "$(dirname "$0")/../.."
MVN_FLAGS=${MVN_OPTS_EXTRA--o}
CP_FILE=schemas/target/bench.classpath
./mvnw $MVN_FLAGS -B -q -pl schemas test-compile
./mvnw $MVN_FLAGS -B -q -pl schemas dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$PWD/$CP_FILE"
exec java -cp "schemas/target/test-classes:schemas/target/classes:$(cat "$CP_FILE")" \
  io.kdstream.schemas.bench.CodecBench "$@"
