# student-trainer: distils a student from kd.teacher-outputs; checkpoints under /var/lib/kdstream/run.
ARG BASE=kdstream-base
FROM ${BASE}
VOLUME ["/var/lib/kdstream/run"]
ENTRYPOINT ["java", "-cp", "/opt/kdstream/lib/*", "io.kdstream.ops.cli.KdstreamCli", "train", \
            "--config", "/etc/kdstream/kdstream.properties", "--checkpoint-dir", "/var/lib/kdstream/run"]
