package io.kdstream.ops.demo;

import io.kdstream.streams.MonitorApp;
import io.kdstream.teacher.serve.TeacherService;
import io.kdstream.trainer.Trainer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * What the phases of one demo run share: its settings, the stop flag, the resources opened so far (closed in the
 * reverse order) and the services the health checks look at.
 */
final class DemoContext {

    private static final Logger LOGGER = LoggerFactory.getLogger(DemoRunner.class);

    private record Named(String name, AutoCloseable resource) {
    }

    private final DemoSettings settings;
    private final Deque<Named> resources = new ArrayDeque<>();
    private final List<Trainer> trainers = new ArrayList<>();
    private volatile boolean stopRequested;
    private volatile TeacherService runningTeacher;
    private volatile MonitorApp runningMonitors;

    DemoContext(DemoSettings settings) {
        this.settings = settings;
    }

    /** Sets the stop flag and stops every trainer started so far after its current step. */
    void requestStop() {
        stopRequested = true;
        stopTrainers();
    }

    void stopTrainers() {
        synchronized (trainers) {
            trainers.forEach(Trainer::stop);
        }
    }

    /** Remembers a trainer for {@link #requestStop()}; stops it at once when the run is already stopping. */
    void addTrainer(Trainer trainer) {
        synchronized (trainers) {
            trainers.add(trainer);
        }
        if (stopRequested) {
            trainer.stop();
        }
    }

    /** Throws {@link DemoRunner.StoppedException} when the run was asked to stop. */
    void checkStop() {
        if (stopRequested) {
            throw new DemoRunner.StoppedException();
        }
    }

    DemoSettings settings() {
        return settings;
    }

    /** Whether {@link #requestStop()} was called. */
    boolean stopRequested() {
        return stopRequested;
    }

    void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DemoRunner.StoppedException();
        }
    }

    /** Registers a resource for {@link #closeAll()}. */
    void open(String name, AutoCloseable resource) {
        synchronized (resources) {
            resources.push(new Named(name, resource));
        }
    }

    /** Closes what was opened, the last first; a resource that fails to close is logged and passed over. */
    void closeAll() {
        while (true) {
            Named next;
            synchronized (resources) {
                next = resources.poll();
            }
            if (next == null) {
                return;
            }
            try {
                LOGGER.info("Stopping {}", next.name());
                next.resource().close();
            } catch (Exception e) {
                LOGGER.warn("Error while stopping {}: {}", next.name(), e.toString());
            }
        }
    }

    TeacherService runningTeacher() {
        return runningTeacher;
    }

    void runningTeacher(TeacherService service) {
        this.runningTeacher = service;
    }

    MonitorApp runningMonitors() {
        return runningMonitors;
    }

    void runningMonitors(MonitorApp monitors) {
        this.runningMonitors = monitors;
    }
}
