#!/usr/bin/env bash
# Builds a single-node Kafka (KRaft) image for BrokerContainerFaultIT without pulling from any image registry:
#   1. the broker's runtime classpath (kafka_2.13 of the version in the root pom, plus slf4j-simple for its log),
#      copied from the local Maven repository by the Maven wrapper, offline;
#   2. a Debian root made by debootstrap with a headless JRE (from a Debian mirror, or a local one: MIRROR=...);
#   3. start.sh as the entry point; the root is imported with `docker import`.
#
#   sudo ops/deploy/kafka-image/build.sh                 # needs root (debootstrap), docker and the ~/.m2 of a build
#   IMAGE=kdstream/kafka:test SUITE=bookworm MIRROR=http://deb.debian.org/debian ops/deploy/kafka-image/build.sh
#   ops/deploy/kafka-image/build.sh --libs-only          # step 1 only, into ops/deploy/kafka-image/target/libs
#   MAVEN_OFFLINE= ops/deploy/kafka-image/build.sh      # step 1 may download the jars (a fresh machine, e.g. CI)
#
# The image is configured like apache/kafka (KAFKA_* variables, CLUSTER_ID; the log in KAFKA_LOG_DIRS, default
# /var/lib/kafka/data as in docker-compose.yml); see start.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
kafka_version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$repo/pom.xml" | head -1)
IMAGE=${IMAGE:-kdstream/kafka:$kafka_version}
MAVEN_OFFLINE=${MAVEN_OFFLINE--o}
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
JRE=${JRE:-openjdk-17-jre-headless}
target=$here/target

# 1. broker jars: a throw-away pom under the root pom, so the versions are exactly the ones the build resolves
rm -rf "$target/libs" "$target/broker-libs"
mkdir -p "$target/broker-libs"
cat > "$target/broker-libs/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>io.kdstream</groupId>
    <artifactId>kdstream-parent</artifactId>
    <version>0.1.0-SNAPSHOT</version>
    <relativePath>../../../../../pom.xml</relativePath>
  </parent>
  <artifactId>kafka-image-libs</artifactId>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId></dependency>
  </dependencies>
</project>
POM
(cd "$repo" && ./mvnw ${MAVEN_OFFLINE:+"$MAVEN_OFFLINE"} -q -B -f "$target/broker-libs/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DexcludeGroupIds=org.junit.jupiter,org.junit.platform,org.assertj,org.opentest4j,org.apiguardian \
    -DoutputDirectory="$target/libs")
echo "broker classpath: $(ls "$target/libs" | wc -l) jars in $target/libs (kafka $kafka_version)"
if [[ "${1:-}" == "--libs-only" ]]; then
    exit 0
fi

command -v debootstrap >/dev/null || { echo "build.sh: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
command -v docker >/dev/null || { echo "build.sh: docker is missing" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "build.sh: no Docker engine reachable" >&2; exit 1; }

# 2. a minimal Debian root with a headless JRE
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
# in two stages, so that dpkg skips its fsync calls while it installs into a root that is thrown away after the
# import (force-unsafe-io, as Docker's own debootstrap recipe sets it): on a busy disk those calls dominate
started=$SECONDS
debootstrap --foreign --variant=minbase --include="$JRE" "$SUITE" "$root" "$MIRROR"
echo "build.sh: first stage (download, unpack) took $((SECONDS - started)) s"
mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
echo force-unsafe-io > "$root/etc/dpkg/dpkg.cfg.d/kdstream-unsafe-io"
started=$SECONDS
chroot "$root" /debootstrap/debootstrap --second-stage
echo "build.sh: second stage (configure) took $((SECONDS - started)) s"
rm -f "$root/etc/dpkg/dpkg.cfg.d/kdstream-unsafe-io"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

# 3. the broker, its entry point and the import
install -d "$root/opt/kafka/libs" "$root/opt/kafka/config" "$root/opt/kafka/bin" "$root/tmp/kraft-combined-logs" \
    "$root/var/lib/kafka/data"
cp "$target"/libs/*.jar "$root/opt/kafka/libs/"
install -m 0755 "$here/start.sh" "$root/opt/kafka/bin/start.sh"
tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'EXPOSE 9092' \
    -c 'ENTRYPOINT ["/opt/kafka/bin/start.sh"]' \
    - "$IMAGE"
echo "built $IMAGE (Debian $SUITE, $JRE, Kafka $kafka_version); BrokerContainerFaultIT uses it when present"
