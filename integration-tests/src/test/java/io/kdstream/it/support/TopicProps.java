package io.kdstream.it.support;

import io.kdstream.core.config.KdConfig;

import java.util.Map;

/** Names every topic of the catalog {@code <prefix>.<role>}, so tests sharing a broker never share a topic. */
public final class TopicProps {
    private TopicProps() {
    }

    /** Puts the ten topic-name keys into {@code props}, each {@code prefix + "." + role}; returns {@code props}. */
    public static Map<String, Object> prefixed(Map<String, Object> props, String prefix) {
        props.put(KdConfig.TOPIC_INPUTS_CONFIG, prefix + ".inputs");
        props.put(KdConfig.TOPIC_TEACHER_OUTPUTS_CONFIG, prefix + ".teacher-outputs");
        props.put(KdConfig.TOPIC_TEACHER_FEATURES_CONFIG, prefix + ".teacher-features");
        props.put(KdConfig.TOPIC_DLQ_CONFIG, prefix + ".dlq");
        props.put(KdConfig.TOPIC_METRICS_CONFIG, prefix + ".metrics");
        props.put(KdConfig.TOPIC_EVAL_CONFIG, prefix + ".eval");
        props.put(KdConfig.TOPIC_RUNS_CONFIG, prefix + ".runs");
        props.put(KdConfig.TOPIC_MODEL_SYNC_CONFIG, prefix + ".model-sync");
        props.put(KdConfig.TOPIC_MONITORS_CONFIG, prefix + ".monitors");
        props.put(KdConfig.TOPIC_ALERTS_CONFIG, prefix + ".alerts");
        return props;
    }
}
