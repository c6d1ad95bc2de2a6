#!/usr/bin/env bash
# kd-acceptance.sh: Fashion-MNIST through the whole pipeline with the kdstream CLI (up -> topics -> ingest ->
# teacher serve -> train), then a table of test accuracy for the teacher, the labels-only student, the KD student and
# the KD + feature-KD student, mean ± sd over the seeds, with the margin over labels-only and the gap recovered
# (student_KD - student_labels) / (teacher - student_labels).
#
# Usage: ops/bench/kd-acceptance.sh [--teacher-model DIR] [--epochs N] [--seeds "1 2 3"] [--work DIR]
#   --teacher-model DIR  a saved teacher (model directory); default: train one with 'kdstream teacher train --epochs 10'
#   --epochs N           student epochs (default 10)
#   --seeds "..."        student seeds (default "1 2 3")
#   --work DIR           working directory (default: a new temporary one); results in DIR/results.tsv
# Environment: STUDENT (default fmnist-mlp-student), LR (learning-rate schedule, default linear decay 1e-3 -> 2e-5
# over the run), TRAIN_ARGS (extra 'kdstream train' arguments for every variant), KD_ARGS / FEATURE_ARGS (replace the
# KD and KD + feature variants' arguments), PORT / REGISTRY_PORT (default
# 19092 / 18081). One intra-op thread, so every run is reproducible.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
K="$ROOT/kdstream"
TEACHER_MODEL=""
EPOCHS=10
SEEDS="1 2 3"
WORK=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --teacher-model) TEACHER_MODEL="$2"; shift 2 ;;
    --epochs) EPOCHS="$2"; shift 2 ;;
    --seeds) SEEDS="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
WORK="${WORK:-$(mktemp -d -t kd-acceptance-XXXXXX)}"
mkdir -p "$WORK"
PORT="${PORT:-19092}"
REGISTRY_PORT="${REGISTRY_PORT:-18081}"
STUDENT="${STUDENT:-fmnist-mlp-student}"
BATCH=64
STEPS=$(( (60000 / BATCH + 1) * EPOCHS ))
LR="${LR:-linear:0.001:0.00002:$STEPS}"
export KDSTREAM_OPTS="${KDSTREAM_OPTS:-} -Dai.djl.pytorch.num_threads=1"
CONN=(--bootstrap-server "127.0.0.1:$PORT" --schema-registry-url "http://127.0.0.1:$REGISTRY_PORT")
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

log "work dir $WORK; student $STUDENT, $EPOCHS epochs, seeds $SEEDS, lr $LR"
"$K" --version >/dev/null   # builds the launcher once, before processes start in parallel
"$K" up --data-dir "$WORK/stack" --port "$PORT" --registry-port "$REGISTRY_PORT" >"$WORK/up.log" 2>&1 &
UP=$!
SERVE=""
cleanup() {
  [[ -n "$SERVE" ]] && kill "$SERVE" 2>/dev/null && wait "$SERVE" 2>/dev/null || true
  kill "$UP" 2>/dev/null && wait "$UP" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 120); do
  if "$K" topics list "${CONN[@]}" >/dev/null 2>&1; then break; fi
  kill -0 "$UP" 2>/dev/null || { cat "$WORK/up.log" >&2; exit 1; }
  sleep 1
done
"$K" topics create "${CONN[@]}" >/dev/null
log "ingesting the training split"
"$K" ingest fashion-mnist --split train --progress plain "${CONN[@]}" 2>"$WORK/ingest.log" | tail -1 >&2

if [[ -z "$TEACHER_MODEL" ]]; then
  log "training the teacher (10 epochs)"
  "$K" teacher train --epochs 10 --seed 42 --store "$WORK/models" 2>"$WORK/teacher-train.log" | tail -3 >&2
  TEACHER_MODEL="$(ls -d "$WORK"/models/*/ | tail -1)"
fi
TEACHER_ACC="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["testAccuracy"])' "$TEACHER_MODEL/metadata.json")"
log "serving teacher $TEACHER_MODEL (test accuracy $TEACHER_ACC)"
"$K" teacher serve --model "$TEACHER_MODEL" --device cpu "${CONN[@]}" >"$WORK/serve.log" 2>&1 &
SERVE=$!
"$K" consume kd.teacher-outputs --from-beginning --max 60000 --timeout-ms 900000 "${CONN[@]}" 2>/dev/null | wc -l \
  | { read -r n; log "teacher outputs committed: $n"; [[ "$n" == 60000 ]]; }
kill "$SERVE"; wait "$SERVE" 2>/dev/null || true; SERVE=""

COMMON=(--student "$STUDENT" --epochs "$EPOCHS" -s trainer.batch.size=$BATCH -s trainer.shuffle.buffer=1024
        -s trainer.learning.rate="$LR" -s trainer.eval.max.samples=10000)
# shellcheck disable=SC2206
COMMON+=(${TRAIN_ARGS:-})   # extra 'kdstream train' arguments for every variant, e.g. "-s trainer.grad.clip.norm=1"
log "extra train arguments: ${TRAIN_ARGS:-none}" 
declare -A VARIANTS=(
  [labels]="--teacher none"
  [kd]="${KD_ARGS:---teacher stream -s kd.temperature=4 -s kd.alpha=0.9}"
  [kd+feature]="${FEATURE_ARGS:---teacher stream -s kd.temperature=4 -s kd.alpha=0.9 -s kd.feature.weight=0.1}"
)
log "kd: ${VARIANTS[kd]}; kd+feature: ${VARIANTS[kd+feature]}" 
printf 'variant\tseed\taccuracy\trun_id\tmodel_sha256\tseconds\n' >"$WORK/results.tsv"
for seed in $SEEDS; do
  for v in labels kd kd+feature; do
    dir="$WORK/runs/$v-$seed"
    t0=$(date +%s)
    # shellcheck disable=SC2086
    out="$("$K" train "${COMMON[@]}" ${VARIANTS[$v]} --seed "$seed" --group "acc-$v-$seed" --checkpoint-dir "$dir" \
           "${CONN[@]}" 2>"$WORK/train-$v-$seed.log")" || true
    acc="$(sed -n 's/.*test accuracy: *\([0-9.]*\).*/\1/p' <<<"$out" | tail -1)"
    if [[ -z "$acc" ]]; then
      # a run that stops (e.g. its failure budget is spent) is a result too: reported, not averaged, never hidden
      acc=failed
      log "$v seed $seed failed: $(grep -m1 '^error:' "$WORK/train-$v-$seed.log" || tail -1 "$WORK/train-$v-$seed.log")"
    fi
    run="$(sed -n 's/^run-id: *//p' <<<"$out")"
    sha="$(sed -n 's/^model-sha256: *//p' <<<"$out")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$v" "$seed" "$acc" "$run" "$sha" "$(( $(date +%s) - t0 ))" >>"$WORK/results.tsv"
    log "$v seed $seed: accuracy $acc ($(( $(date +%s) - t0 )) s)"
  done
done

python3 - "$WORK/results.tsv" "$TEACHER_ACC" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
teacher = float(sys.argv[2]) * 100
acc = {}
failed = [r for r in rows if r["accuracy"] == "failed"]
for r in rows:
    if r["accuracy"] != "failed":
        acc.setdefault(r["variant"], []).append(float(r["accuracy"]) * 100)
base = statistics.mean(acc["labels"])
print(f"| student (mean ± sd over {len(acc['labels'])} seeds) | test accuracy % | vs labels-only (pp) | gap recovered |")
print("| --- | --- | --- | --- |")
print(f"| teacher | {teacher:.2f} | | |")
for v in ("labels", "kd", "kd+feature"):
    if v not in acc:
        print(f"| {v} | every run failed | | |")
        continue
    m = statistics.mean(acc[v]); sd = statistics.stdev(acc[v]) if len(acc[v]) > 1 else 0.0
    extra = "" if v == "labels" else f"{m - base:+.2f} | {(m - base) / (teacher - base) * 100:.0f}%"
    print(f"| {v} | {m:.2f} ± {sd:.2f} | {extra} |" if extra else f"| {v} | {m:.2f} ± {sd:.2f} | | |")
print()
print("per seed:", "; ".join(f"{r['variant']} seed {r['seed']}: "
      + ("failed" if r["accuracy"] == "failed" else f"{float(r['accuracy']) * 100:.2f}") for r in rows))
if failed:
    print(f"{len(failed)} run(s) failed and are not in the means: see train-<variant>-<seed>.log")
PY
