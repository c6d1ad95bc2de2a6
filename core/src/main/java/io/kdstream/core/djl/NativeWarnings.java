package io.kdstream.core.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Platform;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a libtorch deprecation notice off the user's terminal. PyTorch 2.7's JNI bridge enters the deprecated
 * {@code AutoNonVariableTypeMode} when it copies a Java buffer into a tensor ({@code NDArray.set(float[])}), and
 * libtorch then prints a multi-line warning to the process's standard error, once per process, in the middle of
 * whatever the command prints. It says nothing about kdstream's use and cannot be switched off by a setting
 * ({@code TORCH_CPP_LOG_LEVEL} does not reach it). {@link #absorb()} makes that first copy happen once, early, with
 * the native standard error pointed at {@code /dev/null} for the duration of the one call, so the notice is spent
 * there. Anything else written to standard error in that window (a few microseconds) is lost too, so it runs before
 * the caller starts its own threads where it can. A no-op off Linux and macOS, or when libc cannot be reached.
 */
public final class NativeWarnings {

    private static final Logger LOGGER = LoggerFactory.getLogger(NativeWarnings.class);
    private static final int STDERR = 2;
    private static final int O_WRONLY = 1;
    private static volatile boolean done;

    private NativeWarnings() {
    }

    /** The few libc calls needed to point a file descriptor elsewhere and back. */
    interface LibC extends Library {
        int open(String path, int flags);

        int dup(int fd);

        int dup2(int from, int to);

        int close(int fd);
    }

    /** Spends libtorch's once-per-process deprecation notice with standard error muted; idempotent and thread-safe. */
    public static void absorb() {
        if (done) {
            return;
        }
        synchronized (NativeWarnings.class) {
            if (done) {
                return;
            }
            done = true;
            if (!Platform.isLinux() && !Platform.isMac()) {
                return;
            }
            try {
                LibC libc = Native.load("c", LibC.class);
                int saved = libc.dup(STDERR);
                int devNull = libc.open("/dev/null", O_WRONLY);
                if (saved < 0 || devNull < 0) {
                    closeQuietly(libc, saved);
                    closeQuietly(libc, devNull);
                    return;
                }
                System.err.flush();
                try (NDManager manager = NDManager.newBaseManager()) {
                    NDArray scratch = manager.zeros(new ai.djl.ndarray.types.Shape(1));
                    libc.dup2(devNull, STDERR);
                    try {
                        scratch.set(new float[] {0f});
                    } finally {
                        libc.dup2(saved, STDERR);
                        libc.close(saved);
                        libc.close(devNull);
                    }
                }
            } catch (LinkageError | RuntimeException e) {
                LOGGER.debug("Could not mute libtorch's deprecation notice: {}", e.toString());
            }
        }
    }

    private static void closeQuietly(LibC libc, int fd) {
        if (fd >= 0) {
            libc.close(fd);
        }
    }
}
