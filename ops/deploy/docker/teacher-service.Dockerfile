# teacher-service: batched inference on kd.inputs -> kd.teacher-outputs (exactly once).
#   docker build -f ops/deploy/docker/teacher-service.Dockerfile -t kdstream-teacher-service .
# GPU image: FROM the GPU base (--build-arg BASE=kdstream-base-gpu, built with MAVEN_PROFILES=-Pgpu) and run with the
# NVIDIA container runtime.
ARG BASE=kdstream-base
FROM ${BASE}
# the model store (mount a volume, or bake a model into /var/lib/kdstream/models); the folder belongs to uid 10001
VOLUME ["/var/lib/kdstream/models"]
# metrics and health: GET /metrics, /health/live, /health/ready (docs/observability.md)
# glibc keeps the engine's large freed buffers instead of unmapping them after every step (docs/trainer.md)
ENV GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=134217728 \
    KDSTREAM_METRICS_PORT=9404 \
    KDSTREAM_METRICS_HOST=0.0.0.0
EXPOSE 9404
ENTRYPOINT ["java", "-cp", "/opt/kdstream/lib/*", "io.kdstream.ops.cli.KdstreamCli", "teacher", "serve", \
            "--config", "/etc/kdstream/kdstream.properties"]
