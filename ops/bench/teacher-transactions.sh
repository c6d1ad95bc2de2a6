#!/usr/bin/env bash
# How the size of the teacher-service's transactions moves its throughput: `kdstream teacher bench` (raw batched
# inference before and after, the service through Kafka in between, side by side in one command) once per
# teacher.transaction.max.inputs value, with the payload the demo's students need (logits + input, no feature maps).
# Opt-in, not CI.
#
#   ops/bench/teacher-transactions.sh --teacher-model DIR [--sizes "64 256 512 2048"] [--records N] [--rounds R]
#
# Starts `kdstream up` on PORT/REGISTRY_PORT (default 29092/28081) in a fresh temporary directory; one intra-op
# thread, one worker, inference batch 64. Prints one line per size and round: raw and Kafka records/s and their ratio.
set -uo pipefail
cd "$(dirname "$0")/../.."
TEACHER=""
SIZES="64 256 512 2048"
RECORDS=10000
ROUNDS=2
while [ $# -gt 0 ]; do
  case "$1" in
    --teacher-model) TEACHER="$2"; shift 2 ;;
    --sizes) SIZES="$2"; shift 2 ;;
    --records) RECORDS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
. ops/bench/stack.sh
require_teacher "$TEACHER"
stack_start
echo -e "| teacher.transaction.max.inputs | round | raw DJL (records/s) | through Kafka (records/s) | ratio |"
echo -e "| --- | --- | --- | --- | --- |"
for round in $(seq "$ROUNDS"); do
  for size in $SIZES; do
    out=$(KDSTREAM_OPTS="-Dai.djl.pytorch.num_threads=1" $K teacher bench --model "$TEACHER" --records "$RECORDS" \
        --batch-size 64 -D teacher.features=none -D teacher.transaction.max.inputs="$size" $C 2>"$WORK/bench-$size-$round.err")
    # the summary line: "raw DJL: ... = R records/s | through Kafka: ... = K records/s | ratio kafka/raw = X ..."
    line=$(grep '^raw DJL:' <<<"$out" | tail -1)
    raw=$(sed -n 's/^raw DJL:[^=]*= \([0-9]*\) records.*/\1/p' <<<"$line")
    kafka=$(sed -n 's/.*through Kafka:[^=]*= \([0-9]*\) records.*/\1/p' <<<"$line")
    ratio=$(sed -n 's/.*ratio kafka\/raw = \([0-9.]*\).*/\1/p' <<<"$line")
    echo "| $size | $round | ${raw:-?} | ${kafka:-failed} | ${ratio:-?} |"
    [ -n "$kafka" ] || tail -3 "$WORK/bench-$size-$round.err" >&2
  done
done
