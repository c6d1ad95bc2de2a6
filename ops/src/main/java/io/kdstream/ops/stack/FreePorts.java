package io.kdstream.ops.stack;

import io.kdstream.core.KdException;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/** Picks free TCP ports on 127.0.0.1 for servers whose port must be known before they bind. */
final class FreePorts {

    private FreePorts() {
    }

    /**
     * Fails fast, with a message naming the port and what it is for, when {@code port} on 127.0.0.1 is taken, instead
     * of letting a server fail later with a less direct error.
     */
    static void requireFree(int port, String what) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        } catch (IOException e) {
            throw new KdException(what + " port " + port + " on 127.0.0.1 is already in use (is another 'kdstream up' "
                    + "or Kafka running?); pick another port or 0 for a free one", e);
        }
    }

    /** A free port different from {@code taken}. */
    static int pickOtherThan(int taken) {
        int port = pick();
        while (port == taken) {
            port = pick();
        }
        return port;
    }

    static int pick() {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new KdException("no free port on 127.0.0.1: " + e.getMessage(), e);
        }
    }
}
