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
[ -n "$TEACHER" ] || { echo "--teacher-model DIR is required (e.g. one written by 'kdstream teacher train')" >&2; exit 2; }
PORT=${PORT:-29092}
REGISTRY_PORT=${REGISTRY_PORT:-28081}
K=./kdstream
C="--bootstrap-server 127.0.0.1:$PORT --schema-registry-url http://127.0.0.1:$REGISTRY_PORT"
WORK=$(mktemp -d)
UP=
TS=
trap 'kill $TS 2>/dev/null; kill $UP 2>/dev/null; wait; rm -rf "$WORK"' EXIT
$K up --data-dir "$WORK/stack" --port "$PORT" --registry-port "$REGISTRY_PORT" > "$WORK/up.log" 2>&1 &
UP=$!
for i in $(seq 90); do $K topics list $C >/dev/null 2>&1 && break; sleep 1; done
$K topics create $C > /dev/null
$K ingest fashion-mnist --split train --limit "$RECORDS" --progress none $C
$K teacher serve --model "$TEACHER" $C > "$WORK/serve.log" 2>&1 &
TS=$!
n=0
for i in $(seq 300); do
  n=$($K consume kd.teacher-outputs --from-beginning --timeout-ms 1500 $C 2>/dev/null | wc -l)
  [ "$n" -ge "$RECORDS" ] && break
  sleep 3
done
echo "teacher outputs: $n"
kill $TS; wait $TS 2>/dev/null; TS=
for cfg in "fmnist-mlp-student 64" "fmnist-mlp-student 256" "fmnist-tinycnn-student 64" "fmnist-tinycnn-student 256"; do
  set -- $cfg
  echo "== $1, batch $2"
  KDSTREAM_OPTS="-Dai.djl.pytorch.num_threads=1" $K train benchmark --student "$1" --teacher stream --steps "$STEPS" \
      -s trainer.batch.size="$2" --checkpoint-dir "$WORK/runs/$1-$2" --group "bench-$1-$2" $C 2>&1 \
      | grep -E "^(student|kafka-fed|memory-fed|ratio|first batch|per step)"
done
