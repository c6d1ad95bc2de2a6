# student-trainer: distils a student from kd.teacher-outputs; checkpoints under /var/lib/kdstream/run.
#   docker build -f ops/deploy/docker/trainer.Dockerfile -t kdstream-trainer .
# trainer.id defaults to the host name (the container's or pod's), so replicas report apart in metrics and monitors.
ARG BASE=kdstream-base
FROM ${BASE}
VOLUME ["/var/lib/kdstream/run"]
# metrics and health: GET /metrics, /health/live, /health/ready (docs/observability.md)
# glibc keeps the engine's large freed buffers instead of unmapping them after every step (docs/trainer.md)
ENV GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=134217728 \
    KDSTREAM_METRICS_PORT=9404 \
    KDSTREAM_METRICS_HOST=0.0.0.0
EXPOSE 9404
ENTRYPOINT ["java", "-cp", "/opt/kdstream/lib/*", "io.kdstream.ops.cli.KdstreamCli", "train", \
            "--config", "/etc/kdstream/kdstream.properties", "--checkpoint-dir", "/var/lib/kdstream/run"]
