#!/usr/bin/env bash
# What FLOAT16 and BFLOAT16 teacher logits cost in student accuracy: the same teacher serves the same training images
# three times (teacher.logits.dtype FLOAT32, FLOAT16, BFLOAT16; no feature maps), and the same KD student trains on
# each with the same seeds at a label fraction where the teacher's logits carry most of the signal. Opt-in, not CI.
#
#   ops/bench/logits-dtype.sh --teacher-model DIR [--records N] [--seeds S] [--epochs E] [--label-fraction F]
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
while [ $# -gt 0 ]; do
  case "$1" in
    --teacher-model) TEACHER="$2"; shift 2 ;;
    --records) RECORDS="$2"; shift 2 ;;
    --seeds) SEEDS="$2"; shift 2 ;;
    --epochs) EPOCHS="$2"; shift 2 ;;
    --label-fraction) FRACTION="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
. ops/bench/stack.sh
require_teacher "$TEACHER"
stack_start
stack_ingest "$RECORDS"
DTYPES="FLOAT32 FLOAT16 BFLOAT16"
for d in $DTYPES; do
  t=kd.outputs-$(echo "$d" | tr 'A-Z' 'a-z')
  $K topics create --extra "$t" $C > /dev/null
  stack_serve "$TEACHER" "$RECORDS" --set teacher.features=none --set teacher.logits.dtype="$d" \
      --set kd.topic.teacher.outputs="$t" --set teacher.group.id="logits-$d" --set teacher.transactional.id.prefix="tx-logits-$d"
done
echo -e "dtype\tseed\taccuracy" > "$WORK/results.tsv"
for seed in $(seq "$SEEDS"); do
  for d in $DTYPES; do
    t=kd.outputs-$(echo "$d" | tr 'A-Z' 'a-z')
    acc=$(KDSTREAM_OPTS="-Dai.djl.pytorch.num_threads=1" $K train --student fmnist-mlp-student --teacher stream \
        --epochs "$EPOCHS" --seed "$seed" -s trainer.label.fraction="$FRACTION" -s kd.topic.teacher.outputs="$t" \
        --checkpoint-dir "$WORK/runs/$d-$seed" --group "logits-$d-$seed" $C 2>&1 \
        | sed -n 's/.*test accuracy: \([0-9.]*\).*/\1/p' | tail -1)
    echo "$d seed $seed: ${acc:-failed}"
    echo -e "$d\t$seed\t${acc:-failed}" >> "$WORK/results.tsv"
  done
done
python3 - "$WORK/results.tsv" <<'EOF'
import csv, statistics, sys
sys.path.insert(0, "ops/bench")
from acceptance_summary import welch
acc = {}
for r in csv.DictReader(open(sys.argv[1]), delimiter="\t"):
    if r["accuracy"] != "failed":
        acc.setdefault(r["dtype"], []).append(float(r["accuracy"]) * 100)
print("| teacher logits | n | test accuracy % | vs FLOAT32 (pp) | Welch p |")
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
