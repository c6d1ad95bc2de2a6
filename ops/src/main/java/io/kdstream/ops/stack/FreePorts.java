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
