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
 * botnet) that holds every place, a newcomer takes the place of the connection that has gone
 * longest without progress (see {@link ConnectionGuard}), if that is at least
 * {@link #EVICTION_MIN_AGE}; the newcomer's own address and network shares still apply.
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

    /** What the budget knows of a connection that holds a place ({@link ConnectionGuard}). */
    interface Place {
        /** Since when it has made no progress ({@link System#nanoTime}). */
        long lastProgress();

        /** Whether it waits for an answer of ours, or is in its first transaction since its last progress: then it is not the one stalling. */
        boolean shielded();

        boolean evicted();

        /** Closes it to give its place to a newcomer; its {@link #release} follows. */
        void evict();
    }

    /** A connection younger than this in progress is never evicted to make room. */
    static final java.time.Duration EVICTION_MIN_AGE = java.time.Duration.ofSeconds(5);

    /** Connections of every listener of this process. */
    static final AtomicInteger PROCESS_CONNECTIONS = new AtomicInteger();

    private final int listenerLimit;
    private final int perAddressLimit;
    private final int processLimit;
    private final int idleTimeoutSeconds;
    private final AtomicInteger connections = new AtomicInteger();
    private final ConcurrentHashMap<String, AtomicInteger> perAddress = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, AtomicInteger> perNetwork = new ConcurrentHashMap<>();
    private final java.util.Set<Place> members = ConcurrentHashMap.newKeySet();
    /** Places of evicted connections not yet given back: they are free for admission. */
    private int evicting;

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

    /**
     * Takes a place for {@code address}, evicting the stalest connection if there is none and one
     * has stalled long enough, or says why there is none.
     */
    synchronized Refusal admit(InetAddress address, Place guard) {
        int total = connections.get() - evicting;
        Refusal full = listenerLimit > 0 && total >= listenerLimit ? Refusal.LISTENER_FULL
            : PROCESS_CONNECTIONS.get() - evicting >= processLimit ? Refusal.PROCESS_FULL : null;
        Place victim = null;
        if (full != null) {
            victim = stalest();
            if (victim == null) {
                return full;
            }
            total--;
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
        if (victim != null) {
            victim.evict();
            evicting++;
        }
        members.add(guard);
        connections.incrementAndGet();
        PROCESS_CONNECTIONS.incrementAndGet();
        perAddress.computeIfAbsent(client, any -> new AtomicInteger()).incrementAndGet();
        perNetwork.computeIfAbsent(network, any -> new AtomicInteger()).incrementAndGet();
        return null;
    }

    private Place stalest() {
        long now = System.nanoTime();
        Place stalest = null;
        long oldest = now - EVICTION_MIN_AGE.toNanos();
        for (Place member : members) {
            long progress = member.lastProgress();
            if (progress <= oldest && !member.evicted() && !member.shielded()) {
                stalest = member;
                oldest = progress;
            }
        }
        return stalest;
    }

    /** Gives back the place {@link #admit} took. */
    synchronized void release(InetAddress address, Place guard) {
        if (members.remove(guard) && guard.evicted()) {
            evicting--;
        }
        connections.decrementAndGet();
        PROCESS_CONNECTIONS.decrementAndGet();
        perAddress.computeIfPresent(ClientAddress.of(address), (client, count) -> count.decrementAndGet() <= 0 ? null : count);
        perNetwork.computeIfPresent(ClientAddress.networkOf(address), (network, count) -> count.decrementAndGet() <= 0 ? null : count);
    }

    int connections() {
        return connections.get();
    }

    /** At least half of the places are taken: connections that make no progress are closed sooner. */
    boolean shortOfPlaces() {
        return listenerLimit > 0 && connections.get() * 2 >= listenerLimit;
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
