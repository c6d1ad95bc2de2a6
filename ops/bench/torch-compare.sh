#!/usr/bin/env bash
# kdstream's training step against the loop a user would write instead (plain eager PyTorch over logits in memory,
# ops/bench/torch_kd_loop.py), side by side: same students, same batches, same teacher logits, same loss, optimizer and
# defaults, one intra-op thread on both sides. No broker. Opt-in, not part of CI (it needs Python 3 with torch and
# numpy; Debian: apt-get install python3-torch).
#
#   ops/bench/torch-compare.sh [--steps N] [--warmup N] [--records N] [--repeats R] [--csv FILE] [--blas-dir DIR]
#
# For fmnist-mlp-student and fmnist-tinycnn-student at batch 64 and 256 it runs `kdstream train benchmark
# --memory-only` (KDSTREAM_OPTS=-Dai.djl.pytorch.num_threads=1) and then torch_kd_loop.py (torch.set_num_threads(1)),
# one after the other, R times (default 3), and prints the best rate of each side (the run least disturbed by other
# load): student, batch, kdstream samples/s, PyTorch samples/s, ratio (kdstream / PyTorch), and the same per CPU-second
# of each side's training thread (with one intra-op thread the engine computes on the calling thread, so this rate
# moves far less with other load on the machine than the wall-clock one).
# Both sides read the first N Fashion-MNIST training images (default 10,000) and one file of seeded synthetic teacher
# logits written here first.
#
# --blas-dir DIR runs the PyTorch side a second time with DIR first on LD_LIBRARY_PATH (its libblas.so.3 replaces the
# one PyTorch is linked against) and adds those columns ("PyTorch+BLAS"). Debian's python3-torch uses the system libblas.so.3, which
# is the reference BLAS unless an optimised one is installed; kdstream's engine (libtorch from DJL) brings its own.
# An OpenBLAS without touching the system:
#   apt-get download libopenblas0-openmp && dpkg -x libopenblas0-openmp_*.deb /tmp/openblas
#   ops/bench/torch-compare.sh --blas-dir /tmp/openblas/usr/lib/x86_64-linux-gnu/openblas-openmp
#
# The environment passes through to both sides: e.g. GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:\
# glibc.malloc.trim_threshold=134217728 keeps glibc from returning large buffers to the kernel after every step, which
# otherwise makes the tiny CNN 2-5x slower on either side in some runs (docs/trainer.md, "Memory allocation").
set -uo pipefail
cd "$(dirname "$0")/../.."
STEPS=300
WARMUP=50
RECORDS=10000
REPEATS=3
CSV=""
BLAS_DIR=""
PYTHON=${PYTHON:-/usr/bin/python3}
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) STEPS="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --records) RECORDS="$2"; shift 2 ;;
    --repeats) REPEATS="$2"; shift 2 ;;
    --csv) CSV="$2"; shift 2 ;;
    --blas-dir) BLAS_DIR="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
"$PYTHON" -c "import torch, numpy" 2>/dev/null || { echo "$PYTHON cannot import torch and numpy (apt-get install python3-torch)" >&2; exit 2; }
if [ -n "$BLAS_DIR" ] && [ ! -e "$BLAS_DIR/libblas.so.3" ]; then
  echo "--blas-dir $BLAS_DIR holds no libblas.so.3" >&2; exit 2
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
LOGITS="$WORK/teacher-logits.f32"
"$PYTHON" ops/bench/torch_kd_loop.py --write-logits "$LOGITS" --records "$RECORDS" > /dev/null || exit 1

load() { cut -d' ' -f1-3 /proc/loadavg; }
rate() { sed -n "s/^$1: \([0-9.]*\) samples.*/\1/p" "$2" | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "n/a" }'; }

echo "cores: $(nproc), load average before: $(load), steps: $STEPS after $WARMUP warm-up, records: $RECORDS, best of $REPEATS"
ROWS=()
best() { awk -v a="$1" -v b="$2" 'BEGIN { if (b != "" && (a == "" || b + 0 > a + 0)) print b; else print a }'; }
# runs one side ($1: kd, pt or pt2) and keeps its best wall-clock and CPU rates in ${1}_wall / ${1}_cpu
side() {
  local name=$1 label=$2 out="$WORK/$1.out" w c wv="${1}_wall" cv="${1}_cpu"
  shift 2
  "$@" > "$out" 2>&1
  w=$(rate "$label" "$out")
  c=$(rate "$label cpu" "$out")
  [ -n "$w" ] || { echo "$name failed:" >&2; tail -5 "$out" >&2; return; }
  if [ "$(best "${!wv}" "$w")" = "$w" ]; then
    printf -v "$wv" '%s' "$w"
    [ "$name" = kd ] && cp "$out" "$WORK/kd.best"
  fi
  [ -n "$c" ] && printf -v "$cv" '%s' "$(best "${!cv}" "$c")"
}
for cfg in "fmnist-mlp-student 64" "fmnist-mlp-student 256" "fmnist-tinycnn-student 64" "fmnist-tinycnn-student 256"; do
  set -- $cfg
  kd_wall=""; kd_cpu=""; pt_wall=""; pt_cpu=""; pt2_wall=""; pt2_cpu=""
  PT=("$PYTHON" ops/bench/torch_kd_loop.py --student "$1" --batch "$2" --steps "$STEPS" --warmup "$WARMUP"
      --records "$RECORDS" --logits "$LOGITS" --threads 1)
  for r in $(seq "$REPEATS"); do
    side kd memory-only env KDSTREAM_OPTS="${KDSTREAM_OPTS:-} -Dai.djl.pytorch.num_threads=1" ./kdstream train benchmark \
        --memory-only --student "$1" -s trainer.batch.size="$2" --steps "$STEPS" --warmup "$WARMUP" \
        --records "$RECORDS" --teacher-logits "$LOGITS"
    side pt pytorch "${PT[@]}"
    if [ -n "$BLAS_DIR" ]; then
      side pt2 pytorch env LD_LIBRARY_PATH="$BLAS_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" OPENBLAS_NUM_THREADS=1 "${PT[@]}"
    fi
  done
  row="$1,$2,${kd_wall:-n/a},${pt_wall:-n/a},$(ratio "$kd_wall" "$pt_wall"),${kd_cpu:-n/a},${pt_cpu:-n/a},$(ratio "$kd_cpu" "$pt_cpu")"
  [ -n "$BLAS_DIR" ] && row="$row,${pt2_wall:-n/a},$(ratio "$kd_wall" "$pt2_wall"),${pt2_cpu:-n/a},$(ratio "$kd_cpu" "$pt2_cpu")"
  echo "  $1, batch $2: kdstream ${kd_wall:-n/a}, PyTorch ${pt_wall:-n/a}${BLAS_DIR:+, PyTorch (--blas-dir) ${pt2_wall:-n/a}}" \
      "samples/s; kdstream's best run: $( [ -f "$WORK/kd.best" ] && sed -n 's/^per step (ms): //p' "$WORK/kd.best"); load $(load)"
  rm -f "$WORK/kd.best"
  ROWS+=("$row")
done
echo "load average after: $(load)"
echo
HEADER="student,batch,kdstream samples/s,PyTorch samples/s,ratio,kdstream samples/CPU-s,PyTorch samples/CPU-s,CPU ratio"
[ -n "$BLAS_DIR" ] && HEADER="$HEADER,PyTorch+BLAS samples/s,ratio,PyTorch+BLAS samples/CPU-s,CPU ratio"
{ echo "$HEADER"; printf '%s\n' "${ROWS[@]}"; } | column -s, -t
if [ -n "$CSV" ]; then
  { echo "$HEADER"; printf '%s\n' "${ROWS[@]}"; } > "$CSV"
  echo "written: $CSV"
fi
