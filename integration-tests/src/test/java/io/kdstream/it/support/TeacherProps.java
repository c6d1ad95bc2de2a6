package io.kdstream.it.support;

import io.kdstream.teacher.serve.TeacherConfig;

import java.util.HashMap;
import java.util.Map;

/** Teacher-service settings of the tests that kill a teacher or its broker: small transactions, two workers, CPU. */
public final class TeacherProps {
    private TeacherProps() {
    }

    /**
     * {@code base} plus group and transactional-id prefix {@code <prefix>-teacher}, 2 workers, batches of up to 32
     * inputs waited for 10 ms, transactions of up to 64 inputs, CPU, no metrics log; a new map.
     */
    public static Map<String, Object> smallTransactions(Map<String, Object> base, String prefix) {
        Map<String, Object> p = new HashMap<>(base);
        p.put(TeacherConfig.GROUP_ID_CONFIG, prefix + "-teacher");
        p.put(TeacherConfig.TRANSACTIONAL_ID_PREFIX_CONFIG, prefix + "-teacher");
        p.put(TeacherConfig.WORKERS_CONFIG, 2);
        p.put(TeacherConfig.BATCH_MAX_SIZE_CONFIG, 32);
        p.put(TeacherConfig.BATCH_MAX_WAIT_MS_CONFIG, 10);
        p.put(TeacherConfig.TRANSACTION_MAX_INPUTS_CONFIG, 64);
        p.put(TeacherConfig.DEVICE_CONFIG, "cpu");
        p.put(TeacherConfig.METRICS_INTERVAL_MS_CONFIG, 0);
        return p;
    }
}
