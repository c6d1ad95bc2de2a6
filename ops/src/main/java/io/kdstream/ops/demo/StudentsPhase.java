package io.kdstream.ops.demo;

import io.kdstream.core.KdException;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.zoo.ModelZoo;
import io.kdstream.trainer.Trainer;
import io.kdstream.trainer.TrainerConfig;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Phase 6: trains the distilled student with a group of trainers that average their parameters, and the labels-only
 * baseline in a group of its own, at once on the same teacher-outputs topic (fan-out), while following the metrics
 * topic for the progress bar and the trainer-step meters.
 */
final class StudentsPhase {

    private static final Logger LOGGER = LoggerFactory.getLogger(DemoRunner.class);
    static final String KD_GROUP = "kd-demo-distill";
    static final String BASELINE_GROUP = "kd-demo-baseline";
    /** The distilling trainers: members of one group that average their parameters ({@code trainer.group.training}). */
    static final List<String> KD_TRAINERS = List.of("kd-0", "kd-1");
    /** Local steps between the group's averaging rounds. */
    static final int KD_SYNC_INTERVAL_STEPS = 10;
    /**
     * The group's learning rate: the trainers' default (constant 0.001) times the number of members. Each averaged
     * round stands for one batch per member, so at the same number of epochs the group makes half as many sequential
     * updates as one trainer; scaling the rate with the members (the linear scaling rule) makes up for it (measured
     * in docs/demo.md).
     */
    static final String KD_GROUP_LEARNING_RATE = "constant:0.002";
    static final String BASELINE_TRAINER = "baseline-0";

    /**
     * The trainers' configurations and how each run ended.
     *
     * @param baseline the labels-only trainer
     * @param kd       the members of the distilling group, the first one naming the student
     * @param results  each run's result by run id
     */
    record Output(TrainerConfig baseline, List<TrainerConfig> kd, Map<String, Trainer.Result> results) {
        Output {
            kd = List.copyOf(kd);
            results = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(results));
        }

        String summary() {
            return results.values().stream().map(r -> String.format(Locale.ROOT, "%s: %d steps%s", r.runId(), r.steps(),
                    r.accuracy() == null ? "" : ", accuracy " + DemoRunner.percent(r.accuracy())))
                    .reduce((a, b) -> a + "; " + b).orElse("");
        }
    }

    private final DemoContext ctx;
    private final KdConfig config;
    private final Map<String, Object> connection;

    StudentsPhase(DemoContext ctx, StackPhase.Output stack) {
        this.ctx = ctx;
        this.config = stack.config();
        this.connection = stack.connection();
    }

    /** Trains every student to the end; fails when the group's members did not end with the same model. */
    Output run(String metricsTopic) {
        String stamp = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT).withZone(ZoneOffset.UTC)
                .format(Instant.now());
        DemoSettings settings = ctx.settings();
        TrainerConfig baseline = trainerConfig(settings, connection, "demo-" + stamp + "-baseline", BASELINE_TRAINER,
                BASELINE_GROUP, "none");
        List<TrainerConfig> kd = new ArrayList<>();
        for (String trainerId : KD_TRAINERS) {
            kd.add(trainerConfig(settings, connection, "demo-" + stamp + "-" + trainerId, trainerId, KD_GROUP, "stream"));
        }
        List<TrainerConfig> all = new ArrayList<>(kd);
        all.add(baseline);
        Map<String, Trainer.Result> results = train(metricsTopic, all);
        requireOneGroupModel(kd, results);
        return new Output(baseline, kd, results);
    }

    /** The members of a training group end with the same parameters; anything else is a bug. */
    static void requireOneGroupModel(List<TrainerConfig> members, Map<String, Trainer.Result> results) {
        Set<String> groupShas = new HashSet<>();
        members.forEach(c -> groupShas.add(results.get(c.runId()).modelSha256()));
        if (groupShas.size() != 1) {
            throw new KdException("the members of group " + KD_GROUP + " finished with different models " + groupShas
                    + "; group members end with the same parameters, so this is a bug");
        }
    }

    /** The configuration of one student's trainer: the plan's epochs, batches, seed and evaluation. */
    static TrainerConfig trainerConfig(DemoSettings settings, Map<String, Object> connection, String runId,
                                       String trainerId, String group, String teacher) {
        DemoPlan plan = settings.plan();
        Map<String, Object> props = new HashMap<>(connection);
        props.put(TrainerConfig.STUDENT_CONFIG, ModelZoo.FMNIST_MLP_STUDENT);
        props.put(TrainerConfig.TEACHER_CONFIG, teacher);
        props.put(TrainerConfig.EPOCHS_CONFIG, Integer.toString(plan.studentEpochs()));
        props.put(TrainerConfig.SEED_CONFIG, Long.toString(plan.seed()));
        props.put(TrainerConfig.BATCH_SIZE_CONFIG, Integer.toString(plan.batchSize()));
        props.put(TrainerConfig.SHUFFLE_BUFFER_CONFIG, Integer.toString(plan.batchSize() * 16));
        props.put(TrainerConfig.GROUP_CONFIG, group);
        props.put(TrainerConfig.TRAINER_ID_CONFIG, trainerId);
        props.put(TrainerConfig.RUN_ID_CONFIG, runId);
        props.put(TrainerConfig.CHECKPOINT_DIR_CONFIG, settings.dataDir().resolve("runs").resolve(runId).toString());
        props.put(TrainerConfig.EVAL_INTERVAL_CONFIG, Integer.toString(plan.evalIntervalSteps()));
        props.put(TrainerConfig.EVAL_DIR_CONFIG, settings.dataset().toString());
        props.put(TrainerConfig.EVAL_MAX_SAMPLES_CONFIG, Integer.toString(plan.evalImages()));
        if (KD_GROUP.equals(group)) {
            props.put(TrainerConfig.GROUP_TRAINING_CONFIG, "true");
            props.put(TrainerConfig.GROUP_MIN_MEMBERS_CONFIG, Integer.toString(KD_TRAINERS.size()));
            props.put(TrainerConfig.GROUP_SYNC_INTERVAL_CONFIG, Integer.toString(KD_SYNC_INTERVAL_STEPS));
            props.put(TrainerConfig.LEARNING_RATE_CONFIG, KD_GROUP_LEARNING_RATE);
        }
        return new TrainerConfig(props);
    }

    private Map<String, Trainer.Result> train(String metricsTopic, List<TrainerConfig> configs) {
        // a thread each: the members of a group must run at once (they wait for each other every round)
        ExecutorService pool = Executors.newFixedThreadPool(configs.size(), r -> {
            Thread t = new Thread(r, "kdstream-demo-trainer");
            t.setDaemon(true);
            return t;
        });
        ctx.open("trainers", () -> {
            ctx.requestStop();
            pool.shutdown();
            if (!pool.awaitTermination(60, TimeUnit.SECONDS)) {
                LOGGER.warn("Trainers did not stop within 60 s");
            }
        });
        Map<String, Future<Trainer.Result>> futures = new LinkedHashMap<>();
        try (StepFollower follower = new StepFollower(ctx, config, metricsTopic,
                ctx.settings().plan().studentSteps() * configs.size())) {
            for (TrainerConfig c : configs) {
                Trainer trainer = Trainer.builder().setConfig(c).build();
                ctx.addTrainer(trainer);
                futures.put(c.runId(), pool.submit(trainer::run));
            }
            follower.followUntilDone(futures.values());
        }
        Map<String, Trainer.Result> results = collect(futures);
        ctx.checkStop();
        return results;
    }

    private static Map<String, Trainer.Result> collect(Map<String, Future<Trainer.Result>> futures) {
        Map<String, Trainer.Result> results = new LinkedHashMap<>();
        for (Map.Entry<String, Future<Trainer.Result>> e : futures.entrySet()) {
            try {
                results.put(e.getKey(), e.getValue().get());
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new DemoRunner.StoppedException();
            } catch (ExecutionException ex) {
                Throwable cause = ex.getCause();
                throw cause instanceof KdException k ? k : new KdException("trainer " + e.getKey() + " failed: " + cause, cause);
            }
        }
        return results;
    }
}
