#!/usr/bin/env bash
# The trainer benchmark of docs/trainer.md: Kafka-fed against memory-fed samples/s for the zoo students, side by side
# in one run each, on a local stack started here. Opt-in, not part of CI.
#
#   ops/bench/trainer-bench.sh --teacher-model DIR [--records N] [--steps N]
#
# Starts `kdstream up` on PORT/REGISTRY_PORT (default 29092/28081) with its data in a fresh temporary directory,
# creates the topics, ingests N Fashion-MNIST training images (default 20,000), serves them with the teacher, then
# runs `kdstream train benchmark` for fmnist-mlp-student and fmnist-tinycnn-student at batch 64 and 256,
# with one intra-op thread. Everything it starts is stopped at the end.
set -uo pipefail
cd "$(dirname "$0")/../.."
TEACHER=""
RECORDS=20000
STEPS=300
while [ $# -gt 0 ]; do
  case "$1" in
    --teacher-model) TEACHER="$2"; shift 2 ;;
    --records) RECORDS="$2"; shift 2 ;;
    --steps) STEPS="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
. ops/bench/stack.sh
require_teacher "$TEACHER"
stack_start
stack_ingest "$RECORDS"
stack_serve "$TEACHER" "$RECORDS"
for cfg in "fmnist-mlp-student 64" "fmnist-mlp-student 256" "fmnist-tinycnn-student 64" "fmnist-tinycnn-student 256"; do
  set -- $cfg
  echo "== $1, batch $2"
  KDSTREAM_OPTS="-Dai.djl.pytorch.num_threads=1" $K train benchmark --student "$1" --teacher stream --steps "$STEPS" \
      -s trainer.batch.size="$2" --checkpoint-dir "$WORK/runs/$1-$2" --group "bench-$1-$2" $C 2>&1 \
      | grep -E "^(student|kafka-fed|memory-fed|ratio|first batch|per step)"
done
