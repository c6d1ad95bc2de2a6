#!/usr/bin/env bash
# teacher-recipe.sh: measures the teacher recipe. First, unless --final-only, two runs that hold out the last 5,000
# training images and report validation accuracy (no test images involved): the default recipe (12 epochs with random
# flips) and the plain one (the same without flips). Then the final run: 'kdstream teacher train' with its defaults on
# all 60,000 training images, evaluated on the 10,000 test images. The runs are
# sequential so that their timings do not compete; each log records the load averages at its start and end, and
# /usr/bin/time's CPU and wall figures when that program is installed.
#
# Progress bars and logs go to DIR/<run>.err.
#
# Usage: ops/bench/teacher-recipe.sh [--final-only] [--work DIR] [-- extra 'teacher train' arguments for every run]
#   --work DIR    working directory (default: a new temporary one); logs in DIR/*.log, models in DIR/models
# Environment: THREADS (intra-op threads, default 0 = all cores).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
K="$ROOT/kdstream"
WORK=""
FINAL_ONLY=false
EXTRA=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --final-only) FINAL_ONLY=true; shift ;;
    --work) WORK="$2"; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
WORK="${WORK:-$(mktemp -d -t teacher-recipe-XXXXXX)}"
mkdir -p "$WORK"
THREADS="${THREADS:-0}"
TIMER=()
[[ -x /usr/bin/time ]] && TIMER=(/usr/bin/time -v)

run() {
  local name="$1"; shift
  local log="$WORK/$name.log"
  echo "== $name: kdstream teacher train $*" | tee "$log"
  echo "start $(date -u +%FT%TZ) loadavg $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"
  "${TIMER[@]}" "$K" teacher train --store "$WORK/models" --out "$WORK/models/$name" --threads "$THREADS" "$@" \
      "${EXTRA[@]}" 2> "$WORK/$name.err" | tee -a "$log"
  grep -E "Elapsed|User time|System time|Maximum resident|Exception" "$WORK/$name.err" >> "$log" || true
  echo "end $(date -u +%FT%TZ) loadavg $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"
}

if [[ "$FINAL_ONLY" != true ]]; then
  run validation-default --validation 5000
  run validation-plain --validation 5000 --no-flip
fi
run final
echo
echo "Logs in $WORK:"
grep -H -E "^  (test|validation) accuracy|^start|^end|Elapsed|User time|System time" "$WORK"/*.log
