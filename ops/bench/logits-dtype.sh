#!/usr/bin/env bash
# What FLOAT16 and BFLOAT16 teacher logits (or feature maps) cost in student accuracy: the same teacher serves the same
# training images three times (teacher.logits.dtype, or teacher.features.dtype, FLOAT32, FLOAT16, BFLOAT16), and the
# same student trains on each with the same seeds at a label fraction where the teacher carries most of the signal.
# Opt-in, not CI.
#
#   ops/bench/logits-dtype.sh --teacher-model DIR [--what logits|features] [--records N] [--seeds S] [--epochs E]
#                             [--label-fraction F]
#
# --what logits (default): no feature maps, the MLP student distils the logits (KD, the trainer's defaults).
# --what features: the teacher publishes every map it declares (conv3 and embedding of the zoo teacher) to a companion
# topic per dtype, logits stay FLOAT32, and the tiny CNN distils logits plus maps (kd.feature.weight 0.1, T 2, α 0.5,
# the settings of docs/trainer.md's feature-KD pass).
#
# Starts `kdstream up` on PORT/REGISTRY_PORT (default 29092/28081) in a fresh temporary directory. Prints, per dtype,
# the test accuracy (mean ± sd over the seeds), the difference from FLOAT32 in pp with Welch's p-value, and the
# bytes of one output.
set -uo pipefail
cd "$(dirname "$0")/../.."
TEACHER=""
RECORDS=20000
SEEDS=5
EPOCHS=3
FRACTION=0.05
WHAT=logits
while [ $# -gt 0 ]; do
  case "$1" in
    --teacher-model) TEACHER="$2"; shift 2 ;;
    --records) RECORDS="$2"; shift 2 ;;
    --seeds) SEEDS="$2"; shift 2 ;;
    --epochs) EPOCHS="$2"; shift 2 ;;
    --label-fraction) FRACTION="$2"; shift 2 ;;
    --what) WHAT="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
. ops/bench/stack.sh
require_teacher "$TEACHER"
stack_start
stack_ingest "$RECORDS"
DTYPES="FLOAT32 FLOAT16 BFLOAT16"
case "$WHAT" in
  logits) STUDENT=fmnist-mlp-student; TRAIN_ARGS=() ;;
  features) STUDENT=fmnist-tinycnn-student
            TRAIN_ARGS=(-s kd.feature.weight=0.1 -s kd.temperature=2 -s kd.alpha=0.5) ;;
  *) echo "--what must be logits or features, got $WHAT" >&2; exit 2 ;;
esac
for d in $DTYPES; do
  lower=$(echo "$d" | tr 'A-Z' 'a-z')
  t=kd.outputs-$lower
  $K topics create --extra "$t" $C > /dev/null
  if [ "$WHAT" = logits ]; then
    stack_serve "$TEACHER" "$RECORDS" --set teacher.features=none --set teacher.logits.dtype="$d" \
        --set kd.topic.teacher.outputs="$t" --set teacher.group.id="logits-$d" --set teacher.transactional.id.prefix="tx-logits-$d"
  else
    $K topics create --extra "kd.features-$lower" $C > /dev/null
    stack_serve "$TEACHER" "$RECORDS" --set teacher.features.dtype="$d" --set kd.topic.teacher.features="kd.features-$lower" \
        --set kd.topic.teacher.outputs="$t" --set teacher.group.id="features-$d" --set teacher.transactional.id.prefix="tx-features-$d"
  fi
done
echo -e "dtype\tseed\taccuracy" > "$WORK/results.tsv"
for seed in $(seq "$SEEDS"); do
  for d in $DTYPES; do
    lower=$(echo "$d" | tr 'A-Z' 'a-z')
    acc=$(KDSTREAM_OPTS="-Dai.djl.pytorch.num_threads=1" $K train --student "$STUDENT" --teacher stream \
        --epochs "$EPOCHS" --seed "$seed" -s trainer.label.fraction="$FRACTION" -s kd.topic.teacher.outputs="kd.outputs-$lower" \
        -s kd.topic.teacher.features="kd.features-$lower" "${TRAIN_ARGS[@]}" \
        --checkpoint-dir "$WORK/runs/$d-$seed" --group "$WHAT-$d-$seed" $C 2>&1 \
        | sed -n 's/.*test accuracy: \([0-9.]*\).*/\1/p' | tail -1)
    echo "$d seed $seed: ${acc:-failed}"
    echo -e "$d\t$seed\t${acc:-failed}" >> "$WORK/results.tsv"
  done
done
python3 - "$WORK/results.tsv" "$WHAT" <<'EOF'
import csv, statistics, sys
sys.path.insert(0, "ops/bench")
from acceptance_summary import welch
acc = {}
for r in csv.DictReader(open(sys.argv[1]), delimiter="\t"):
    if r["accuracy"] != "failed":
        acc.setdefault(r["dtype"], []).append(float(r["accuracy"]) * 100)
print(f"| teacher {sys.argv[2]} | n | test accuracy % | vs FLOAT32 (pp) | Welch p |")
print("| --- | --- | --- | --- | --- |")
for d in ("FLOAT32", "FLOAT16", "BFLOAT16"):
    xs = acc.get(d, [])
    if not xs:
        print(f"| {d} | 0 | failed | | |")
        continue
    m, sd = statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)
    diff = p = ""
    if d != "FLOAT32" and acc.get("FLOAT32"):
        diff = f"{m - statistics.mean(acc['FLOAT32']):+.2f}"
        w = welch(xs, acc["FLOAT32"])
        p = "" if w is None else f"{w[2]:.2g}"
    print(f"| {d} | {len(xs)} | {m:.2f} ± {sd:.2f} | {diff} | {p} |")
EOF
