# teacher-service: batched inference on kd.inputs -> kd.teacher-outputs (exactly once).
# GPU image: build with --build-arg MAVEN_PROFILES=-Pgpu and run with the NVIDIA container runtime.
ARG BASE=kdstream-base
FROM ${BASE}
# the model store (mount a volume, or bake a model into /var/lib/kdstream/models)
VOLUME ["/var/lib/kdstream/models"]
ENTRYPOINT ["java", "-cp", "/opt/kdstream/lib/*", "io.kdstream.ops.cli.KdstreamCli", "teacher", "serve", \
            "--config", "/etc/kdstream/kdstream.properties"]
