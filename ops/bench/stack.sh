# Shared by the benchmark scripts that need a local stack (source it from the repository root):
#   stack_start               starts `kdstream up` on PORT/REGISTRY_PORT (default 29092/28081) with its data in a fresh
#                             temporary directory $WORK, creates the topics; sets K (the CLI) and C (its connection
#                             options); everything started here is stopped on exit
#   stack_ingest N            publishes N Fashion-MNIST training images to kd.inputs
#   stack_serve MODEL N [OPTS...]
#                             serves the inputs with the teacher MODEL (extra `teacher serve` options OPTS) until the
#                             outputs topic (kd.teacher-outputs, or the one an OPTS `--set kd.topic.teacher.outputs=T`
#                             names) holds N records, then stops the teacher
#   require_teacher DIR       exits with a usage message when DIR is empty
K=./kdstream
PORT=${PORT:-29092}
REGISTRY_PORT=${REGISTRY_PORT:-28081}
C="--bootstrap-server 127.0.0.1:$PORT --schema-registry-url http://127.0.0.1:$REGISTRY_PORT"
WORK=$(mktemp -d)
STACK_PIDS=""
trap 'for p in $STACK_PIDS; do kill "$p" 2>/dev/null; done; wait; rm -rf "$WORK"' EXIT

require_teacher() {
  [ -n "$1" ] || { echo "--teacher-model DIR is required (e.g. one written by 'kdstream teacher train')" >&2; exit 2; }
}

stack_start() {
  $K up --data-dir "$WORK/stack" --port "$PORT" --registry-port "$REGISTRY_PORT" > "$WORK/up.log" 2>&1 &
  STACK_PIDS="$STACK_PIDS $!"
  for _ in $(seq 90); do $K topics list $C >/dev/null 2>&1 && break; sleep 1; done
  $K topics create $C > /dev/null
}

stack_ingest() {
  $K ingest fashion-mnist --split train --limit "$1" --progress none $C
}

stack_serve() {
  local model="$1" want="$2" topic=kd.teacher-outputs arg n=0
  shift 2
  for arg in "$@"; do
    case "$arg" in kd.topic.teacher.outputs=*) topic="${arg#kd.topic.teacher.outputs=}" ;; esac
  done
  $K teacher serve --model "$model" "$@" $C > "$WORK/serve-$topic.log" 2>&1 &
  local ts=$!
  for _ in $(seq 300); do
    n=$($K consume "$topic" --from-beginning --timeout-ms 1500 $C 2>/dev/null | wc -l)
    [ "$n" -ge "$want" ] && break
    sleep 3
  done
  kill "$ts"; wait "$ts" 2>/dev/null
  echo "$topic: $n teacher outputs"
}
