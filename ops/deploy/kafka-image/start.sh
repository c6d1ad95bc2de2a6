#!/bin/sh
# Entry point of the kdstream/kafka test image: one KRaft node (broker and controller), configured the way the
# apache/kafka image is, so one set of variables starts either image: every KAFKA_FOO_BAR variable becomes
# foo.bar in server.properties (KAFKA_HEAP_OPTS and KAFKA_OPTS are JVM options). The log goes to KAFKA_LOG_DIRS
# (default /var/lib/kafka/data: mount a volume there to keep it across re-created containers). CLUSTER_ID formats
# the log directory on the first start; a restarted container keeps its data and is not formatted again.
set -eu
home=${BROKER_HOME:-/opt/kafka}
conf=$home/config/server.properties
: > "$conf"
env | grep '^KAFKA_' | grep -v -e '^KAFKA_HEAP_OPTS=' -e '^KAFKA_OPTS=' | while IFS='=' read -r name value; do
    key=$(printf '%s' "${name#KAFKA_}" | tr 'ABCDEFGHIJKLMNOPQRSTUVWXYZ_' 'abcdefghijklmnopqrstuvwxyz.')
    printf '%s=%s\n' "$key" "$value" >> "$conf"
done
grep -q '^log\.dirs=' "$conf" || printf 'log.dirs=/var/lib/kafka/data\n' >> "$conf"
sed -n 's/^log\.dirs=//p' "$conf" | tr ',' '\n' | while IFS= read -r dir; do
    if [ -n "$dir" ]; then mkdir -p "$dir"; fi
done
if ! grep -q '^process\.roles=' "$conf"; then
    echo "start.sh: set at least KAFKA_NODE_ID, KAFKA_PROCESS_ROLES, KAFKA_LISTENERS, KAFKA_ADVERTISED_LISTENERS," \
        "KAFKA_CONTROLLER_LISTENER_NAMES, KAFKA_LISTENER_SECURITY_PROTOCOL_MAP and KAFKA_CONTROLLER_QUORUM_VOTERS" >&2
    exit 2
fi
java -cp "$home/libs/*" kafka.tools.StorageTool format -t "${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}" -c "$conf" --ignore-formatted
# shellcheck disable=SC2086 # word splitting of the JVM options is intended
exec java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} ${KAFKA_OPTS:-} -cp "$home/libs/*" kafka.Kafka "$conf"
