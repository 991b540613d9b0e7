package io.postino.server.smtp.listener;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import io.postino.server.smtp.ClientAddress;

/**
 * How many connections one listener holds, in all, per client (an IPv4 address or an IPv6 /64)
 * and per network (an IPv4 /24 or an IPv6 /48), and whether it takes one more. Unlike James'
 * per-IP limit, shares shrink as the listener fills: a client may open another connection only
 * while it holds fewer than a quarter of the places still free, and its network fewer than half.
 * So a flood from many addresses of one network leaves two thirds of the places free, and each
 * further network of the flood takes at most a third of what is still free (k networks leave at
 * least (2/3)^k of the places) for new clients; and the listener's fill shortens every connection's
 * idle timeout (see {@link #idleTimeoutSeconds}). Against a flood from very many networks (a
 * botnet) only the global cap and the idle timeout help.
 *
 * <p>A process-wide cap counts the connections of every listener, to keep the file descriptors
 * of the process for its queue, database and deliveries.</p>
 */
final class ConnectionBudget {
    /** Why a connection was refused, for the reply, the log and the metric. */
    enum Refusal {
        LISTENER_FULL("421 4.7.0 Too many connections; try again later"),
        PROCESS_FULL("421 4.7.0 Too many connections; try again later"),
        ADDRESS_FULL("421 4.7.0 Too many connections from your address; close some and try again"),
        NETWORK_FULL("421 4.7.0 Too many connections from your network; try again later");

        final String reply;

        Refusal(String reply) {
            this.reply = reply;
        }
    }

    /** Connections of every listener of this process. */
    static final AtomicInteger PROCESS_CONNECTIONS = new AtomicInteger();

    private final int listenerLimit;
    private final int perAddressLimit;
    private final int processLimit;
    private final int idleTimeoutSeconds;
    private final AtomicInteger connections = new AtomicInteger();
    private final ConcurrentHashMap<String, AtomicInteger> perAddress = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, AtomicInteger> perNetwork = new ConcurrentHashMap<>();

    /**
     * @param listenerLimit {@code connectionLimit}, 0 for none
     * @param perAddressLimit {@code connectionLimitPerIP}, 0 for none
     * @param processLimit {@code -Dpostino.smtp.maxConnections}, at least 1
     * @param idleTimeoutSeconds {@code connectiontimeout}, the idle timeout of a quiet listener
     */
    ConnectionBudget(int listenerLimit, int perAddressLimit, int processLimit, int idleTimeoutSeconds) {
        // 0 means "no limit" for a listener, but a process that admits no connection is a mistake, not a choice.
        if (listenerLimit < 0 || perAddressLimit < 0 || processLimit < 1) {
            throw new IllegalArgumentException("Connection limits must be 0 (none) or more for a listener and at least 1 for the process, got "
                + listenerLimit + ", " + perAddressLimit + " and " + processLimit);
        }
        this.listenerLimit = listenerLimit;
        this.perAddressLimit = perAddressLimit;
        this.processLimit = processLimit;
        this.idleTimeoutSeconds = idleTimeoutSeconds;
    }

    /** Takes a place for {@code address}, or says why there is none. */
    synchronized Refusal admit(InetAddress address) {
        int total = connections.get();
        if (listenerLimit > 0 && total >= listenerLimit) {
            return Refusal.LISTENER_FULL;
        }
        if (PROCESS_CONNECTIONS.get() >= processLimit) {
            return Refusal.PROCESS_FULL;
        }
        String client = ClientAddress.of(address);
        int held = perAddress.getOrDefault(client, new AtomicInteger()).get();
        if (perAddressLimit > 0 && held >= perAddressLimit) {
            return Refusal.ADDRESS_FULL;
        }
        if (listenerLimit > 0 && held >= Math.max(1, (listenerLimit - total) / 4)) {
            return Refusal.ADDRESS_FULL;
        }
        String network = ClientAddress.networkOf(address);
        int heldByNetwork = perNetwork.getOrDefault(network, new AtomicInteger()).get();
        if (listenerLimit > 0 && heldByNetwork >= Math.max(1, (listenerLimit - total) / 2)) {
            return Refusal.NETWORK_FULL;
        }
        connections.incrementAndGet();
        PROCESS_CONNECTIONS.incrementAndGet();
        perAddress.computeIfAbsent(client, any -> new AtomicInteger()).incrementAndGet();
        perNetwork.computeIfAbsent(network, any -> new AtomicInteger()).incrementAndGet();
        return null;
    }

    /** Gives back the place {@link #admit} took. */
    synchronized void release(InetAddress address) {
        connections.decrementAndGet();
        PROCESS_CONNECTIONS.decrementAndGet();
        perAddress.computeIfPresent(ClientAddress.of(address), (client, count) -> count.decrementAndGet() <= 0 ? null : count);
        perNetwork.computeIfPresent(ClientAddress.networkOf(address), (network, count) -> count.decrementAndGet() <= 0 ? null : count);
    }

    int connections() {
        return connections.get();
    }

    /**
     * The idle timeout now: {@code connectiontimeout} while the listener is less than half full,
     * a fifth of it beyond half, a thirtieth (at least 10 s) beyond 80 %: idle clients make room
     * for new ones when room is short.
     */
    int idleTimeoutSeconds() {
        if (listenerLimit <= 0) {
            return idleTimeoutSeconds;
        }
        double load = (double) connections.get() / listenerLimit;
        if (load >= 0.8) {
            return Math.min(idleTimeoutSeconds, Math.max(10, idleTimeoutSeconds / 30));
        }
        if (load >= 0.5) {
            return Math.min(idleTimeoutSeconds, Math.max(10, idleTimeoutSeconds / 5));
        }
        return idleTimeoutSeconds;
    }
}
