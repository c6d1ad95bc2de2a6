package io.kdstream.ops.stack;

import io.kdstream.core.KdException;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An exclusive lock on a data directory ({@code .kdstream.lock}), held while a server uses it, so that a second
 * {@code kdstream up} on the same directory (in this or another process) stops before touching the storage.
 */
final class DataDirLock implements AutoCloseable {

    static final String LOCK_FILE = ".kdstream.lock";

    private final FileChannel channel;
    private final FileLock lock;

    private DataDirLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    static DataDirLock acquire(Path dir) {
        Path file = dir.resolve(LOCK_FILE);
        FileChannel channel = null;
        try {
            Files.createDirectories(dir);
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock = channel.tryLock();
            if (lock == null) {
                throw inUse(dir, null);
            }
            return new DataDirLock(channel, lock);
        } catch (OverlappingFileLockException e) {
            closeQuietly(channel);
            throw inUse(dir, e);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new KdException("cannot lock the data directory " + dir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    private static KdException inUse(Path dir, Throwable cause) {
        return new KdException("the data directory " + dir + " is in use by another running local stack; stop it "
                + "first or pick another --data-dir", cause);
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing was locked
            }
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException ignored) {
            // released when the channel closes
        }
        closeQuietly(channel);
    }
}
