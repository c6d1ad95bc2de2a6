# monitors: Kafka Streams loss-ratio, failure-count and staleness monitors -> kd.monitors, kd.alerts.
#   docker build -f ops/deploy/docker/monitor.Dockerfile -t kdstream-monitor .
ARG BASE=kdstream-base
FROM ${BASE}
VOLUME ["/var/lib/kdstream/state"]
# 8090: the interactive queries (/monitors/...); 9404: metrics and health (docs/observability.md)
ENV KDSTREAM_METRICS_PORT=9404 \
    KDSTREAM_METRICS_HOST=0.0.0.0
EXPOSE 8090 9404
ENTRYPOINT ["java", "-cp", "/opt/kdstream/lib/*", "io.kdstream.ops.cli.KdstreamCli", "monitor", \
            "--config", "/etc/kdstream/kdstream.properties", "--state-dir", "/var/lib/kdstream/state", \
            "-p", "monitor.http.host=0.0.0.0"]
