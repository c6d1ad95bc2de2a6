package io.kdstream.teacher.serve;

import io.kdstream.avro.DType;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.djl.Devices;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.ValidString;
import org.apache.kafka.common.config.ConfigException;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;

/**
 * Settings of {@code kdstream teacher serve}: the shared {@link KdConfig} keys plus the {@code teacher.*} keys below.
 * Kafka client settings pass through untouched.
 */
public final class TeacherConfig extends KdConfig {

    public static final String MODEL_CONFIG = "teacher.model";
    private static final String MODEL_DOC = "Model to serve: a model directory, a TorchScript .pt file, or a model name "
            + "in the store. Empty: the model 'kdstream teacher train' saved last. Several, comma-separated: an ensemble "
            + "that publishes the mean of their logits and the first one's feature maps (same input shape and classes).";

    public static final String GROUP_ID_CONFIG = "teacher.group.id";
    private static final String GROUP_ID_DOC = "Consumer group of the teacher instances; instances sharing it split the "
            + "partitions of the inputs topic.";

    public static final String WORKERS_CONFIG = "teacher.workers";
    private static final String WORKERS_DOC = "Worker threads of this instance. Each owns a consumer (a member of the "
            + "group), a transactional producer and a DJL predictor.";

    public static final String BATCH_MAX_SIZE_CONFIG = "teacher.batch.max.size";
    private static final String BATCH_MAX_SIZE_DOC = "Largest inference batch. A batch runs as soon as it is full.";

    public static final String BATCH_MAX_WAIT_MS_CONFIG = "teacher.batch.max.wait.ms";
    private static final String BATCH_MAX_WAIT_MS_DOC = "Longest time the oldest pending input waits for the batch to "
            + "fill before the batch runs anyway. Only meaningful with " + BATCH_MAX_SIZE_CONFIG + " > 1.";

    public static final String TRANSACTION_MAX_INPUTS_CONFIG = "teacher.transaction.max.inputs";
    private static final String TRANSACTION_MAX_INPUTS_DOC = "Most inputs one poll may bring and hence one transaction "
            + "may cover (the consumer's max.poll.records). With a backlog a transaction spans several inference batches, "
            + "which amortises the commit; with a trickle it holds what arrived within " + BATCH_MAX_WAIT_MS_CONFIG
            + ". Must be at least " + BATCH_MAX_SIZE_CONFIG + ".";

    public static final String PIPELINE_CONFIG = "teacher.pipeline";
    private static final String PIPELINE_DOC = "Double-buffered batches: each worker runs inference on a thread of its "
            + "own while the worker thread decodes the next batch and encodes the previous one. The same batches and "
            + "outputs as without it; false runs all three on the worker thread.";

    public static final String DEVICE_CONFIG = "teacher.device";
    private static final String DEVICE_DOC = "Where inference runs: auto (GPU 0 if the engine sees one, else CPU), cpu or "
            + "gpu:N. GPUs need the CUDA natives (build with -Pgpu).";

    public static final String LOGITS_DTYPE_CONFIG = "teacher.logits.dtype";
    private static final String LOGITS_DTYPE_DOC = "Element type of published logits: FLOAT32, FLOAT16 or BFLOAT16.";

    public static final String LOGITS_TOPK_CONFIG = "teacher.logits.topk";
    private static final String LOGITS_TOPK_DOC = "Publish only the k largest logits (values and class indices) instead "
            + "of all of them; 0 publishes dense logits. Must be smaller than the model's class count.";

    public static final String FEATURES_DTYPE_CONFIG = "teacher.features.dtype";
    private static final String FEATURES_DTYPE_DOC = "Element type of published feature maps: FLOAT32, FLOAT16 or BFLOAT16.";

    public static final String FEATURES_CONFIG = "teacher.features";
    private static final String FEATURES_DOC = "Names of the feature maps to publish. Empty publishes every feature the "
            + "model declares; 'none' publishes none.";

    public static final String FEATURES_PLACEMENT_CONFIG = "teacher.features.placement";
    public static final String FEATURES_PLACEMENT_COMPANION = "companion";
    public static final String FEATURES_PLACEMENT_INLINE = "inline";
    private static final String FEATURES_PLACEMENT_DOC = "Where published feature maps go. companion: one TeacherFeatures "
            + "record per output on the features topic (kd.topic.teacher.features), in the output's transaction, named by "
            + "the output's featuresRef, so that students that do not distil features never read them; inline: inside "
            + "each TeacherOutput, which every student then reads.";

    public static final String INCLUDE_INPUT_CONFIG = "teacher.include.input";
    private static final String INCLUDE_INPUT_DOC = "Copy the input tensor into each output, so the outputs topic alone is "
            + "a complete training set.";

    public static final String INCLUDE_LABEL_CONFIG = "teacher.include.label";
    private static final String INCLUDE_LABEL_DOC = "Copy the label (or multi-label set) into each output.";

    public static final String TRANSACTIONAL_ID_PREFIX_CONFIG = "teacher.transactional.id.prefix";
    private static final String TRANSACTIONAL_ID_PREFIX_DOC = "Prefix of the producers' transactional.id; worker i uses "
            + "<prefix>-<i>. It must be stable across restarts of one instance (so a restarted instance fences its "
            + "previous incarnation) and distinct between instances. Empty: kdstream-teacher-<host name>.";

    public static final String TRANSACTION_TIMEOUT_MS_CONFIG = "teacher.transaction.timeout.ms";
    private static final String TRANSACTION_TIMEOUT_MS_DOC = "transaction.timeout.ms of the producers: how long the "
            + "broker keeps a transaction of a vanished instance open before aborting it.";

    public static final String METRICS_INTERVAL_MS_CONFIG = "teacher.metrics.interval.ms";
    private static final String METRICS_INTERVAL_MS_DOC = "How often throughput, batch fill, latency percentiles and "
            + "dead-letter counts are logged; 0 disables the log line.";

    public static final String RETRY_BACKOFF_MS_CONFIG = "teacher.retry.backoff.ms";
    private static final String RETRY_BACKOFF_MS_DOC = "Pause before a batch is retried after a transient failure "
            + "(broker or registry unavailable).";

    public static final String VIEWS_PER_INPUT_CONFIG = "teacher.views.per.input";
    private static final String VIEWS_PER_INPUT_DOC = "Teacher-labelled views per input (consistent teaching): the "
            + "input itself plus N-1 seeded augmented views, each published as its own output carrying the exact view "
            + "tensor the teacher scored and its parameters (attributes kd.view, kd.view.dx, kd.view.dy, kd.view.flip), "
            + "all in the input's transaction. 1 publishes the input alone. Needs teacher.include.input=true and "
            + "teacher.batch.max.size >= N.";
    public static final String VIEWS_MAX_SHIFT_CONFIG = "teacher.views.max.shift.pixels";
    private static final String VIEWS_MAX_SHIFT_DOC = "Largest translation of a view along each axis, in pixels, "
            + "with zero fill.";
    public static final String VIEWS_FLIP_CONFIG = "teacher.views.flip";
    private static final String VIEWS_FLIP_DOC = "Whether a view may be mirrored left-right (with probability 1/2).";
    public static final String VIEWS_SEED_CONFIG = "teacher.views.seed";
    private static final String VIEWS_SEED_DOC = "Seed of the view parameters; a view is a pure function of (input id, "
            + "view number, seed), so a re-served input gets the same views.";

    private static final List<String> FLOAT_DTYPES = List.of(DType.FLOAT32.name(), DType.FLOAT16.name(), DType.BFLOAT16.name());

    public static ConfigDef configDef() {
        return baseConfigDef()
                .define(MODEL_CONFIG, Type.LIST, "", Importance.HIGH, MODEL_DOC)
                .define(GROUP_ID_CONFIG, Type.STRING, "kdstream-teacher", new ConfigDef.NonEmptyString(), Importance.HIGH, GROUP_ID_DOC)
                .define(WORKERS_CONFIG, Type.INT, 1, Range.between(1, 256), Importance.HIGH, WORKERS_DOC)
                .define(BATCH_MAX_SIZE_CONFIG, Type.INT, 64, Range.between(1, 65_536), Importance.HIGH, BATCH_MAX_SIZE_DOC)
                .define(BATCH_MAX_WAIT_MS_CONFIG, Type.LONG, 20L, Range.between(0, 60_000), Importance.HIGH, BATCH_MAX_WAIT_MS_DOC)
                .define(TRANSACTION_MAX_INPUTS_CONFIG, Type.INT, 512, Range.between(1, 1_000_000), Importance.MEDIUM,
                        TRANSACTION_MAX_INPUTS_DOC)
                .define(DEVICE_CONFIG, Type.STRING, "auto", Devices.validator(), Importance.HIGH, DEVICE_DOC)
                .define(PIPELINE_CONFIG, Type.BOOLEAN, true, Importance.MEDIUM, PIPELINE_DOC)
                .define(LOGITS_DTYPE_CONFIG, Type.STRING, DType.FLOAT32.name(), ValidString.in(FLOAT_DTYPES.toArray(String[]::new)),
                        Importance.MEDIUM, LOGITS_DTYPE_DOC)
                .define(LOGITS_TOPK_CONFIG, Type.INT, 0, Range.atLeast(0), Importance.MEDIUM, LOGITS_TOPK_DOC)
                .define(FEATURES_DTYPE_CONFIG, Type.STRING, DType.FLOAT32.name(), ValidString.in(FLOAT_DTYPES.toArray(String[]::new)),
                        Importance.MEDIUM, FEATURES_DTYPE_DOC)
                .define(FEATURES_CONFIG, Type.LIST, "", Importance.MEDIUM, FEATURES_DOC)
                .define(FEATURES_PLACEMENT_CONFIG, Type.STRING, FEATURES_PLACEMENT_COMPANION,
                        ValidString.in(FEATURES_PLACEMENT_COMPANION, FEATURES_PLACEMENT_INLINE), Importance.MEDIUM,
                        FEATURES_PLACEMENT_DOC)
                .define(INCLUDE_INPUT_CONFIG, Type.BOOLEAN, true, Importance.MEDIUM, INCLUDE_INPUT_DOC)
                .define(INCLUDE_LABEL_CONFIG, Type.BOOLEAN, true, Importance.MEDIUM, INCLUDE_LABEL_DOC)
                .define(TRANSACTIONAL_ID_PREFIX_CONFIG, Type.STRING, "", Importance.MEDIUM, TRANSACTIONAL_ID_PREFIX_DOC)
                .define(TRANSACTION_TIMEOUT_MS_CONFIG, Type.INT, 60_000, Range.between(1_000, 900_000), Importance.LOW,
                        TRANSACTION_TIMEOUT_MS_DOC)
                .define(METRICS_INTERVAL_MS_CONFIG, Type.LONG, 10_000L, Range.atLeast(0), Importance.LOW, METRICS_INTERVAL_MS_DOC)
                .define(RETRY_BACKOFF_MS_CONFIG, Type.LONG, 1_000L, Range.between(0, 600_000), Importance.LOW, RETRY_BACKOFF_MS_DOC)
                .define(VIEWS_PER_INPUT_CONFIG, Type.INT, 1, Range.between(1, 64), Importance.MEDIUM, VIEWS_PER_INPUT_DOC)
                .define(VIEWS_MAX_SHIFT_CONFIG, Type.INT, 2, Range.between(0, 64), Importance.LOW, VIEWS_MAX_SHIFT_DOC)
                .define(VIEWS_FLIP_CONFIG, Type.BOOLEAN, true, Importance.LOW, VIEWS_FLIP_DOC)
                .define(VIEWS_SEED_CONFIG, Type.LONG, 0L, Importance.LOW, VIEWS_SEED_DOC);
    }

    /**
     * @throws ConfigException on an invalid value, when {@value #BATCH_MAX_WAIT_MS_CONFIG} is set above 0 while
     *                         {@value #BATCH_MAX_SIZE_CONFIG} is 1 (a one-input batch never waits), or when
     *                         {@value #TRANSACTION_MAX_INPUTS_CONFIG} is below {@value #BATCH_MAX_SIZE_CONFIG}
     */
    public TeacherConfig(Map<?, ?> props) {
        super(configDef(), props);
        if (getInt(BATCH_MAX_SIZE_CONFIG) == 1 && originals().containsKey(BATCH_MAX_WAIT_MS_CONFIG)
                && getLong(BATCH_MAX_WAIT_MS_CONFIG) > 0) {
            throw new ConfigException(BATCH_MAX_WAIT_MS_CONFIG + "=" + getLong(BATCH_MAX_WAIT_MS_CONFIG) + " needs "
                    + BATCH_MAX_SIZE_CONFIG + " > 1 (a batch of one never waits); set " + BATCH_MAX_WAIT_MS_CONFIG
                    + "=0 or raise " + BATCH_MAX_SIZE_CONFIG);
        }
        if (getInt(VIEWS_PER_INPUT_CONFIG) > 1 && !getBoolean(INCLUDE_INPUT_CONFIG)) {
            throw new ConfigException(VIEWS_PER_INPUT_CONFIG + "=" + getInt(VIEWS_PER_INPUT_CONFIG) + " needs "
                    + INCLUDE_INPUT_CONFIG + "=true: a view is only reproducible from the tensor its output carries");
        }
        if (getInt(VIEWS_PER_INPUT_CONFIG) > getInt(BATCH_MAX_SIZE_CONFIG)) {
            throw new ConfigException(VIEWS_PER_INPUT_CONFIG + "=" + getInt(VIEWS_PER_INPUT_CONFIG) + " must not exceed "
                    + BATCH_MAX_SIZE_CONFIG + "=" + getInt(BATCH_MAX_SIZE_CONFIG) + " (the views of one input share a batch)");
        }
        if (getInt(TRANSACTION_MAX_INPUTS_CONFIG) < getInt(BATCH_MAX_SIZE_CONFIG)) {
            throw new ConfigException(TRANSACTION_MAX_INPUTS_CONFIG + "=" + getInt(TRANSACTION_MAX_INPUTS_CONFIG)
                    + " must be at least " + BATCH_MAX_SIZE_CONFIG + "=" + getInt(BATCH_MAX_SIZE_CONFIG));
        }
    }

    public int transactionMaxInputs() {
        return getInt(TRANSACTION_MAX_INPUTS_CONFIG);
    }

    /** The models to serve: empty for the store's latest, several for an ensemble. */
    public List<String> models() {
        return getList(MODEL_CONFIG).stream().map(String::trim).filter(m -> !m.isEmpty()).toList();
    }

    public String groupId() {
        return getString(GROUP_ID_CONFIG);
    }

    public int workers() {
        return getInt(WORKERS_CONFIG);
    }

    public BatchingPolicy batchingPolicy() {
        return new BatchingPolicy(getInt(BATCH_MAX_SIZE_CONFIG), getLong(BATCH_MAX_WAIT_MS_CONFIG));
    }

    /** Whether feature maps go to the companion features topic (else inline in each output). */
    public boolean featuresToCompanion() {
        return FEATURES_PLACEMENT_COMPANION.equals(getString(FEATURES_PLACEMENT_CONFIG));
    }

    public boolean pipeline() {
        return getBoolean(PIPELINE_CONFIG);
    }

    public String device() {
        return getString(DEVICE_CONFIG);
    }

    public OutputOptions outputOptions() {
        List<String> features = getList(FEATURES_CONFIG);
        OutputOptions.FeatureSelection selection;
        if (features.isEmpty()) {
            selection = OutputOptions.FeatureSelection.all();
        } else if (features.size() == 1 && features.get(0).equalsIgnoreCase("none")) {
            selection = OutputOptions.FeatureSelection.none();
        } else {
            selection = OutputOptions.FeatureSelection.of(features);
        }
        return new OutputOptions(DType.valueOf(getString(LOGITS_DTYPE_CONFIG)), getInt(LOGITS_TOPK_CONFIG),
                DType.valueOf(getString(FEATURES_DTYPE_CONFIG)), selection, getBoolean(INCLUDE_INPUT_CONFIG),
                getBoolean(INCLUDE_LABEL_CONFIG));
    }

    public String transactionalIdPrefix() {
        String prefix = getString(TRANSACTIONAL_ID_PREFIX_CONFIG);
        if (!prefix.isBlank()) {
            return prefix;
        }
        try {
            return "kdstream-teacher-" + InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            throw new ConfigException(TRANSACTIONAL_ID_PREFIX_CONFIG, "", "the host name is unknown ("
                    + e.getMessage() + "); set " + TRANSACTIONAL_ID_PREFIX_CONFIG + " explicitly");
        }
    }

    public int transactionTimeoutMs() {
        return getInt(TRANSACTION_TIMEOUT_MS_CONFIG);
    }

    public long metricsIntervalMs() {
        return getLong(METRICS_INTERVAL_MS_CONFIG);
    }

    /** The teacher-labelled views to publish per input. */
    public TeacherViews views() {
        return new TeacherViews(getInt(VIEWS_PER_INPUT_CONFIG), getInt(VIEWS_MAX_SHIFT_CONFIG), getBoolean(VIEWS_FLIP_CONFIG),
                getLong(VIEWS_SEED_CONFIG));
    }

    public long retryBackoffMs() {
        return getLong(RETRY_BACKOFF_MS_CONFIG);
    }
}
