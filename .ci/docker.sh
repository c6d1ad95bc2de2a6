# Sourced by .ci/run: a Docker engine and the local Kafka image for BrokerContainerFaultIT.
#
# ci_docker_up      uses an engine that already answers, else installs docker.io if missing and starts dockerd in
#                   the background (its own socket, data root and log file), waits until `docker info` answers,
#                   builds the broker image of ops/deploy/kafka-image once per content (the tag carries a hash of
#                   build.sh, start.sh and the Kafka and slf4j versions; an existing tag is not built again) and
#                   exports what Testcontainers and the test need. Never fails: without an engine or an image it
#                   prints why, and BrokerContainerFaultIT skips with its reason.
# ci_docker_down    stops the dockerd that ci_docker_up started (nothing else) and forgets its socket.
#
# Settings (environment): KD_CI_DOCKER=0 skips all of it; KD_CI_DOCKER_BUILD_TIMEOUT (default 240 s) bounds the
# image build, so a slow machine skips the container test rather than overrun CI's time; KD_CI_DOCKER_DIR (default
# /var/lib/kdstream-ci) holds the engine's data (and so the cached image) and the logs: dockerd.log, kafka-image.log,
# apt.log.

KD_CI_DOCKER_DIR=${KD_CI_DOCKER_DIR:-/var/lib/kdstream-ci}
ci_dockerd_pid=

# prints why there is no engine for the tests; callers return their own status (set -e is on in .ci/run)
ci_docker_skip() {
  echo "ci: docker: $1; BrokerContainerFaultIT will skip (no Docker engine)"
}

ci_now() { date +%s; }

# apt-get install, once more after an apt-get update when the package lists are missing or stale
ci_apt_install() {
  local log=$KD_CI_DOCKER_DIR/apt.log
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" </dev/null >>"$log" 2>&1 \
    || { apt-get update -qq </dev/null >>"$log" 2>&1 || true
         DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" </dev/null >>"$log" 2>&1; } \
    || { echo "ci: docker: apt-get install $* failed; the end of $log:" >&2; tail -n 5 "$log" | sed 's/^/ci:   /' >&2
         return 1; }
}

# An engine that answers already (DOCKER_HOST or the default socket), else one started here on its own socket.
ci_docker_engine() {
  if command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1; then
    echo "ci: docker: using the engine that answers at ${DOCKER_HOST:-the default socket}"
    return 0
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "ci: docker: installing docker.io"
    ci_apt_install docker.io || { ci_docker_skip "apt-get install docker.io failed"; return 1; }
    # where the package's own service started (systemd machines), use that engine rather than a second one
    if timeout 20 docker info >/dev/null 2>&1; then
      echo "ci: docker: using the engine the docker.io package started"
      return 0
    fi
  fi
  [ "$(id -u)" = 0 ] || { ci_docker_skip "starting dockerd needs root"; return 1; }
  mkdir -p "$KD_CI_DOCKER_DIR/data" /run/kdstream-ci || { ci_docker_skip "cannot create $KD_CI_DOCKER_DIR"; return 1; }
  local sock=/run/kdstream-ci/docker.sock log=$KD_CI_DOCKER_DIR/dockerd.log
  # vfs: no overlay-on-overlay question where the machine itself is a container; slow to copy, but small images
  dockerd --host "unix://$sock" --data-root "$KD_CI_DOCKER_DIR/data" --exec-root /run/kdstream-ci/exec \
    --pidfile /run/kdstream-ci/dockerd.pid --storage-driver vfs >"$log" 2>&1 </dev/null &
  ci_dockerd_pid=$!
  export DOCKER_HOST=unix://$sock
  local waited=0
  until timeout 10 docker info >/dev/null 2>&1; do
    if ! kill -0 "$ci_dockerd_pid" 2>/dev/null; then
      ci_dockerd_pid=
      unset DOCKER_HOST
      echo "ci: docker: dockerd exited; the end of $log:"
      tail -n 5 "$log" | sed 's/^/ci:   /'
      ci_docker_skip "dockerd could not start"
      return 1
    fi
    if [ "$waited" -ge 60 ]; then
      ci_docker_down
      ci_docker_skip "dockerd did not answer within 60 s (log: $log)"
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  echo "ci: docker: dockerd $(docker version --format '{{.Server.Version}}' 2>/dev/null) started (pid $ci_dockerd_pid," \
    "socket $sock, log $log) in ${waited} s"
}

# The broker image, built only when no image of the same content exists; prints its tag.
ci_kafka_image() {
  local dir=ops/deploy/kafka-image kafka slf4j key image
  kafka=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' pom.xml | head -1)
  slf4j=$(sed -n 's:.*<slf4j.version>\(.*\)</slf4j.version>.*:\1:p' pom.xml | head -1)
  key=$({ cat "$dir/build.sh" "$dir/start.sh"; echo "kafka $kafka slf4j $slf4j"; } | sha256sum | cut -c1-12)
  image=kdstream/kafka:$kafka-$key
  if docker image inspect "$image" >/dev/null 2>&1; then
    echo "ci: docker: $image is present (same build.sh, start.sh and versions), not built again" >&2
  else
    if ! command -v debootstrap >/dev/null 2>&1; then
      ci_apt_install debootstrap >&2 || { echo "ci: docker: apt-get install debootstrap failed" >&2; return 1; }
    fi
    local limit=${KD_CI_DOCKER_BUILD_TIMEOUT:-240}
    echo "ci: docker: building $image (at most $limit s; log: $KD_CI_DOCKER_DIR/kafka-image.log)" >&2
    if ! IMAGE=$image MAVEN_OFFLINE='' timeout --kill-after=20 "$limit" "$dir/build.sh" \
        >"$KD_CI_DOCKER_DIR/kafka-image.log" 2>&1 </dev/null; then
      echo "ci: docker: building the Kafka image failed or took over $limit s (KD_CI_DOCKER_BUILD_TIMEOUT);" \
        "the end of its log:" >&2
      tail -n 5 "$KD_CI_DOCKER_DIR/kafka-image.log" | sed 's/^/ci:   /' >&2
      return 1
    fi
  fi
  echo "$image"
}

ci_docker_up() {
  if [ "${KD_CI_DOCKER:-1}" = 0 ]; then
    ci_docker_skip "KD_CI_DOCKER=0"
    return 0
  fi
  local start image
  start=$(ci_now)
  mkdir -p "$KD_CI_DOCKER_DIR" || { ci_docker_skip "cannot create $KD_CI_DOCKER_DIR"; return 0; }
  ci_docker_engine || return 0
  if ! image=$(ci_kafka_image); then
    ci_docker_down
    ci_docker_skip "no Kafka image"
    return 0
  fi
  # offline engine: no reaper image, and no helper container to find the engine's address
  export TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=localhost KD_IT_KAFKA_IMAGE=$image
  echo "ci: docker: ready in $(($(ci_now) - start)) s; BrokerContainerFaultIT uses $image"
}

ci_docker_down() {
  [ -n "$ci_dockerd_pid" ] || return 0
  kill "$ci_dockerd_pid" 2>/dev/null || true
  local i
  for i in $(seq 1 30); do
    kill -0 "$ci_dockerd_pid" 2>/dev/null || break
    sleep 1
  done
  ci_dockerd_pid=
  unset DOCKER_HOST
}
