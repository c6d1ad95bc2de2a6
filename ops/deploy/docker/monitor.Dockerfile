# monitors: Kafka Streams loss-ratio, failure-count and staleness monitors -> kd.monitors, kd.alerts.
ARG BASE=kdstream-base
FROM ${BASE}
VOLUME ["/var/lib/kdstream/state"]
EXPOSE 8090
ENTRYPOINT ["java", "-cp", "/opt/kdstream/lib/*", "io.kdstream.ops.cli.KdstreamCli", "monitor", \
            "--config", "/etc/kdstream/kdstream.properties", "--state-dir", "/var/lib/kdstream/state", \
            "-p", "monitor.http.host=0.0.0.0"]
