#!/usr/bin/env bash
# Group scaling, measured honestly: one group member against two, each a separate `kdstream train` process with one
# intra-op thread, the broker and registry in their own `kdstream up` process. Opt-in, not part of CI.
#
#   ops/bench/group-bench.sh --teacher-model DIR [--records N] [--interval K] [--student NAME] [--batch B]
#
# Starts a local stack on PORT/REGISTRY_PORT (default 29092/28081) in a fresh temporary directory, ingests N
# Fashion-MNIST training images (default 20,000), serves them with the teacher, then trains one epoch of group
# training (trainer.group.training=true, sync every K local steps, default 20) with one member and then with two
# members started together (trainer.group.min.members=2). Each member logs where its time went; the table prints, per
# member, training seconds (from its first generation to its last round), forward+backward, optimizer, waiting for
# data, waiting for the round (the other member's contribution) and sync I/O (flattening, sending and loading the
# parameters), and the group's samples/s (the epoch's samples over the slowest member's training time).
set -uo pipefail
cd "$(dirname "$0")/../.."
TEACHER=""
RECORDS=20000
INTERVAL=20
STUDENT=fmnist-mlp-student
BATCH=64
while [ $# -gt 0 ]; do
  case "$1" in
    --teacher-model) TEACHER="$2"; shift 2 ;;
    --records) RECORDS="$2"; shift 2 ;;
    --interval) INTERVAL="$2"; shift 2 ;;
    --student) STUDENT="$2"; shift 2 ;;
    --batch) BATCH="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
. ops/bench/stack.sh
require_teacher "$TEACHER"
stack_start
stack_ingest "$RECORDS"
stack_serve "$TEACHER" "$RECORDS"

member() { # group members-wanted index
  KDSTREAM_OPTS="-Dai.djl.pytorch.num_threads=1" $K train -v --student "$STUDENT" --teacher stream --epochs 1 \
      --group "$1" --checkpoint-dir "$WORK/runs/$1-$3" $C \
      --set trainer.group.training=true --set trainer.group.sync.interval.steps="$INTERVAL" \
      --set trainer.group.min.members="$2" --set trainer.batch.size="$BATCH" --set trainer.eval.max.samples=0 \
      > "$WORK/$1-$3.log" 2>&1
}

report() { # group members
  local slowest=0
  for i in $(seq "$2"); do
    line=$(grep -o "time: .*" "$WORK/$1-$i.log" | tail -1)
    [ -n "$line" ] || { echo "member $i of $1 did not finish; its log:"; tail -20 "$WORK/$1-$i.log"; return; }
    echo "  member $i: $line"
    s=$(echo "$line" | sed -E 's/time: ([0-9.]+) s training.*/\1/')
    slowest=$(awk -v a="$slowest" -v b="$s" 'BEGIN { print (b > a ? b : a) }')
  done
  awk -v n="$RECORDS" -v t="$slowest" -v m="$2" 'BEGIN { printf "  %d member(s): %.0f samples/s (%d samples over %.3f s)\n", m, n / t, n, t }'
}

echo "== one member ($STUDENT, batch $BATCH, K=$INTERVAL)"
member bench-one 1 1
report bench-one 1
echo "== two members, separate processes"
member bench-two 2 1 &
A=$!
member bench-two 2 2 &
B=$!
wait $A $B
report bench-two 2
