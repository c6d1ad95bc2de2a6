package io.kdstream.core.kafka;

import java.util.List;
import java.util.Objects;

/**
 * The topic catalog: the name of every topic kdstream reads or writes. Defaults come from
 * {@link io.kdstream.core.config.KdConfig}; all are configurable.
 *
 * @param inputs         raw inputs ({@code InputRecord})
 * @param teacherOutputs teacher outputs ({@code TeacherOutput}), the replay log
 * @param teacherFeatures the teacher's feature maps ({@code TeacherFeatures}), companion of the teacher outputs
 * @param dlq            dead letters ({@code FailureEvent})
 * @param metrics        training steps ({@code TrainingStep})
 * @param eval           evaluation results ({@code EvalResult})
 * @param runs           run manifests ({@code RunManifest})
 * @param modelSync      group parameter exchange ({@code ModelSync})
 * @param monitors       monitor windows
 * @param alerts         alerts
 */
public record Topics(String inputs, String teacherOutputs, String teacherFeatures, String dlq, String metrics, String eval, String runs,
                     String modelSync, String monitors, String alerts) {

    public Topics {
        for (String name : new String[] {inputs, teacherOutputs, teacherFeatures, dlq, metrics, eval, runs, modelSync, monitors, alerts}) {
            Objects.requireNonNull(name, "topic name");
            if (name.isBlank() || name.length() > 249 || !name.matches("[a-zA-Z0-9._-]+")) {
                throw new IllegalArgumentException("Invalid topic name '" + name
                        + "': use 1-249 characters from [a-zA-Z0-9._-]");
            }
        }
    }

    /** The default names ({@code kd.inputs}, {@code kd.teacher-outputs}, {@code kd.teacher-features}, ...). */
    public static Topics defaults() {
        return new Topics("kd.inputs", "kd.teacher-outputs", "kd.teacher-features", "kd.dlq", "kd.metrics", "kd.eval", "kd.runs",
                "kd.model-sync", "kd.monitors", "kd.alerts");
    }

    public List<String> all() {
        return List.of(inputs, teacherOutputs, teacherFeatures, dlq, metrics, eval, runs, modelSync, monitors, alerts);
    }
}
