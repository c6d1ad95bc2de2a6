#!/usr/bin/env bash
# kd-acceptance.sh: Fashion-MNIST through the whole pipeline with the kdstream CLI (up -> topics -> ingest ->
# teacher serve -> train), then per arm the test accuracy of the teacher and the students, mean ± sd over the seeds,
# the gain over the arm's labels-only student in pp with Welch's t-test p-value, and the share of the teacher-student
# gap recovered (student_KD - student_labels) / (teacher - student_labels). Writes results.tsv (one line per run) and
# summary.csv (one line per arm) to the work directory.
#
# Arms (variant names):
#   labels, kd                  full labels: the labels-only student vs the KD student (teacher logits + labels)
#   labels@5, kd@5              5% labels (trainer.label.fraction=0.05, a fixed subset per seed): the labels-only
#                               student trains on the labelled 5% alone, the KD student on every record
#   ema@5                       EMA teacher (mean teacher) on the inputs topic at 5% labels, no teacher-service
#   kd+feature                  optional (VARIANTS="... kd+feature"): KD plus feature distillation, full labels
#
# Usage: ops/bench/kd-acceptance.sh [--teacher-model DIR] [--epochs N] [--seeds "1 2 3 4 5"] [--work DIR]
#   --teacher-model DIR  a saved teacher (model directory); given more than once, the ensemble of those teachers
#                        (their mean logits); default: train one with 'kdstream teacher train'
#   --epochs N           student epochs (default 10)
#   --seeds "..."        student seeds (default "1 2 3 4 5")
#   --work DIR           working directory (default: a new temporary one)
# Environment: STUDENT (default fmnist-mlp-student), LR (learning-rate schedule, default linear decay 1e-3 -> 2e-5
# over the run), VARIANTS (which arms, default "labels kd labels@5 kd@5 ema@5"), VIEWS (teacher-labelled views per
# input served by the teacher, default 1: the students of every arm then train on the same views), SPLIT (test, or
# validation: tuning mode, the stream holds training images 0-54,999 and students are scored on 55,000-59,999, never
# on the test split), TRAIN_ARGS (extra
# 'kdstream train' arguments for every variant), KD_ARGS / FEATURE_ARGS / EMA_ARGS (replace the KD, KD + feature and
# EMA variants' arguments), CUSTOM ("NAME=ARGS;NAME=ARGS": extra variants such as a tuning sweep's settings, run
# when VARIANTS names them; a name with "@5" is compared with labels@5, any other kd*/ema* name with labels),
# PORT / REGISTRY_PORT (default 19092 / 18081). One intra-op thread, so every run is
# reproducible.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
K="$ROOT/kdstream"
TEACHER_MODEL=""
TEACHER_MODELS=()
EPOCHS=10
SEEDS="1 2 3 4 5"
WORK=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --teacher-model) TEACHER_MODELS+=("$2"); shift 2 ;;
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
VIEWS="${VIEWS:-1}"
SPLIT="${SPLIT:-test}"
IMAGES=60000
[[ "$SPLIT" == validation ]] && IMAGES=55000
STEPS=$(( (IMAGES * VIEWS / BATCH + 1) * EPOCHS ))
VARIANTS_RUN="${VARIANTS:-labels kd labels@5 kd@5 ema@5}"
LR="${LR:-linear:0.001:0.00002:$STEPS}"
export KDSTREAM_OPTS="${KDSTREAM_OPTS:-} -Dai.djl.pytorch.num_threads=1"
CONN=(--bootstrap-server "127.0.0.1:$PORT" --schema-registry-url "http://127.0.0.1:$REGISTRY_PORT")
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

log "work dir $WORK; student $STUDENT, $EPOCHS epochs, seeds $SEEDS, lr $LR, views $VIEWS, scored on the $SPLIT split"
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
"$K" ingest fashion-mnist --split train --limit "$IMAGES" --progress plain "${CONN[@]}" 2>"$WORK/ingest.log" | tail -1 >&2

if [[ ${#TEACHER_MODELS[@]} -eq 0 ]]; then
  log "training the teacher (its defaults)"
  "$K" teacher train --seed 42 --store "$WORK/models" 2>"$WORK/teacher-train.log" | tail -3 >&2
  TEACHER_MODELS=("$(ls -d "$WORK"/models/*/ | tail -1)")
fi
MODEL_ARGS=()
for m in "${TEACHER_MODELS[@]}"; do MODEL_ARGS+=(--model "$m"); done
if [[ ${#TEACHER_MODELS[@]} -eq 1 ]]; then
  TEACHER_MODEL="${TEACHER_MODELS[0]}"
  TEACHER_ACC="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["testAccuracy"])' "$TEACHER_MODEL/metadata.json")"
else
  # an ensemble has no stored accuracy: score it on the test split (10,000 images)
  TEACHER_MODEL="ensemble of ${TEACHER_MODELS[*]}"
  TEACHER_ACC="$("$K" teacher validate "${MODEL_ARGS[@]}" --min-accuracy 0 | sed -n 's/.*test accuracy \([0-9.]*\)%.*/\1/p' \
    | python3 -c 'import sys; print(float(sys.stdin.read()) / 100)')"
fi
log "serving teacher $TEACHER_MODEL (test accuracy $TEACHER_ACC)"
"$K" teacher serve "${MODEL_ARGS[@]}" --device cpu -D teacher.views.per.input="$VIEWS" \
  -D teacher.batch.max.size=$(( VIEWS > 64 ? VIEWS : 64 )) "${CONN[@]}" >"$WORK/serve.log" 2>&1 &
SERVE=$!
OUTPUTS=$(( IMAGES * VIEWS ))
"$K" consume kd.teacher-outputs --from-beginning --max "$OUTPUTS" --timeout-ms 1800000 "${CONN[@]}" 2>/dev/null | wc -l \
  | { read -r n; log "teacher outputs committed: $n"; [[ "$n" == "$OUTPUTS" ]]; }
kill "$SERVE"; wait "$SERVE" 2>/dev/null || true; SERVE=""

COMMON=(--student "$STUDENT" --epochs "$EPOCHS" -s trainer.batch.size=$BATCH -s trainer.shuffle.buffer=1024
        -s trainer.learning.rate="$LR" -s trainer.eval.max.samples=10000 -s trainer.eval.split="$SPLIT")
# shellcheck disable=SC2206
COMMON+=(${TRAIN_ARGS:-})   # extra 'kdstream train' arguments for every variant, e.g. "-s trainer.grad.clip.norm=1"
log "extra train arguments: ${TRAIN_ARGS:-none}" 
# the validation sweeps of 2026-12-03 (docs/trainer.md): T 2 beat T 4 at full and at 5% labels, α 0.9 won at 5%
KD_DEFAULT="--teacher stream -s kd.temperature=2 -s kd.alpha=0.9"
declare -A VARIANTS=(
  [labels]="--teacher none"
  [kd]="${KD_ARGS:-$KD_DEFAULT}"
  [kd+feature]="${FEATURE_ARGS:-$KD_DEFAULT -s kd.feature.weight=0.1}"
  [labels@5]="--teacher none -s trainer.label.fraction=0.05"
  [kd@5]="${KD_ARGS:-$KD_DEFAULT} -s trainer.label.fraction=0.05"
  [ema@5]="${EMA_ARGS:---teacher ema} -s trainer.label.fraction=0.05"
)
IFS=';' read -ra CUSTOM_VARIANTS <<<"${CUSTOM:-}"
for c in "${CUSTOM_VARIANTS[@]}"; do
  [[ -n "$c" ]] && VARIANTS[${c%%=*}]="${c#*=}"
done
for v in $VARIANTS_RUN; do
  [[ -n "${VARIANTS[$v]+set}" ]] || { echo "unknown variant $v (built-in: ${!VARIANTS[*]}; add more with CUSTOM)" >&2; exit 2; }
  log "$v: ${VARIANTS[$v]}"
done
printf 'variant\tseed\taccuracy\trun_id\tmodel_sha256\tseconds\n' >"$WORK/results.tsv"
for seed in $SEEDS; do
  for v in $VARIANTS_RUN; do
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

python3 "$ROOT/ops/bench/acceptance_summary.py" "$WORK/results.tsv" "$TEACHER_ACC" "$WORK/summary.csv"
