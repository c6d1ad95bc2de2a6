package io.kdstream.ops.demo;

import io.kdstream.core.KdException;
import io.kdstream.core.model.SavedModel;
import io.kdstream.ops.cli.ProgressBar;
import io.kdstream.ops.observe.TeacherMeters;
import io.kdstream.teacher.Teacher;
import io.kdstream.teacher.TeacherLoader;
import io.kdstream.teacher.serve.TeacherConfig;
import io.kdstream.teacher.serve.TeacherService;

import ai.djl.Device;

import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Phase 5: loads the teacher and runs the teacher-service (exactly once) until every input has a teacher output or a
 * dead letter. The service keeps running (the replay of a run needs no teacher, but the health check reports it).
 */
final class ServePhase {

    private static final Duration SERVE_STALL = Duration.ofMinutes(3);

    /**
     * @param served      inputs the service consumed (outputs plus dead letters)
     * @param seconds     wall time from the service's start to the last input
     * @param deadLetters inputs it dead-lettered
     */
    record Output(long served, double seconds, long deadLetters) {
        double perSecond() {
            return served / seconds;
        }

        String summary() {
            return String.format(Locale.ROOT, "%,d inputs in %.1f s (%,.0f/s), %d dead-lettered", served, seconds,
                    perSecond(), deadLetters);
        }
    }

    private final DemoContext ctx;

    ServePhase(DemoContext ctx) {
        this.ctx = ctx;
    }

    /** Serves {@code teacherModel} until the service has consumed {@code expected} inputs. */
    Output run(SavedModel teacherModel, Map<String, Object> connection, long expected) {
        Teacher teacher = TeacherLoader.load(teacherModel.dir(), Device.cpu());
        ctx.open("teacher model", teacher);
        TeacherService service = TeacherService.builder().setConfig(new TeacherConfig(teacherSettings(connection)))
                .setTeacher(teacher).build();
        ctx.open("teacher-service", service);
        ctx.runningTeacher(service);
        if (ctx.settings().observability() != null) {
            new TeacherMeters(service.metrics()).bindTo(ctx.settings().observability().registry());
        }
        long serveStart = System.nanoTime();
        service.start();
        awaitServed(service, expected);
        double serveSeconds = (System.nanoTime() - serveStart) / 1e9;
        long served = service.metrics().snapshot().inputs();
        return new Output(served, serveSeconds, service.metrics().snapshot().deadLetterTotal());
    }

    /** The teacher-service's settings: on the CPU, logits only, its own transactional ids, no metrics records. */
    static Map<String, Object> teacherSettings(Map<String, Object> connection) {
        Map<String, Object> teacherProps = new HashMap<>(connection);
        teacherProps.put(TeacherConfig.DEVICE_CONFIG, "cpu");
        teacherProps.put(TeacherConfig.FEATURES_CONFIG, "none");
        teacherProps.put(TeacherConfig.TRANSACTIONAL_ID_PREFIX_CONFIG, "kdstream-demo-teacher");
        teacherProps.put(TeacherConfig.METRICS_INTERVAL_MS_CONFIG, 0L);
        return teacherProps;
    }

    private void awaitServed(TeacherService service, long expected) {
        long lastProgress = System.nanoTime();
        long last = 0;
        try (ProgressBar bar = ctx.settings().progress().bar("teacher outputs", expected)) {
            while (true) {
                long now = service.metrics().snapshot().inputs();
                if (now > last) {
                    bar.step(now - last);
                    last = now;
                    lastProgress = System.nanoTime();
                }
                if (now >= expected) {
                    return;
                }
                ctx.checkStop();
                if (!service.isRunning()) {
                    throw stopped(service, now, expected);
                }
                if (System.nanoTime() - lastProgress > SERVE_STALL.toNanos()) {
                    throw new KdException("the teacher-service made no progress for " + SERVE_STALL.toMinutes()
                            + " minutes (" + now + " of " + expected + " inputs)");
                }
                ctx.sleep(200);
            }
        }
    }

    /** Waits for a service that stopped on its own (so its failure is logged) and says how far it came. */
    private static KdException stopped(TeacherService service, long now, long expected) {
        try {
            service.awaitTermination();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DemoRunner.StoppedException();
        }
        return new KdException("the teacher-service stopped after " + now + " of " + expected + " inputs");
    }
}
