package io.postino.server.delivery;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import javax.mail.Session;

import io.postino.organisations.Route;

/**
 * SMTP connections to next hops kept open between deliveries, like Postfix's connection cache
 * ({@code smtp_connection_cache_time_limit}, {@code smtp_connection_reuse_time_limit}): a
 * connection that has just delivered a mail waits up to {@link #IDLE} for the next mail to the
 * same next hop (a sweep every half second closes those that waited longer), and serves mails for
 * at most {@link #REUSE} from its opening; then it is closed with {@code QUIT}, without waiting for
 * the reply. A kept connection is checked with {@code RSET} (10 s at most) before it takes a mail.
 *
 * <p>Only a connection made for the same {@link Key} is reused: same protocol, address, port and
 * login, same route (its smarthost, TLS policy and credentials) and source address (a route's
 * source addresses still take mails in turn, each with its own connections), same HELO name
 * and the same JavaMail settings (the RemoteDelivery mailet's parameters). At most
 * {@link #PER_NEXT_HOP} idle connections are kept for one next hop, and {@link #TOTAL} in all.</p>
 */
final class NextHopConnections {
    static final Duration IDLE = Duration.ofSeconds(2);
    static final Duration REUSE = Duration.ofSeconds(300);
    static final int PER_NEXT_HOP = 32;
    static final int TOTAL = 512;
    /**
     * Properties a delivery sets for its own mail, and {@code quitwait}, which every kept connection
     * has off: not part of what makes a connection the same.
     */
    private static final Set<String> PER_MAIL = Set.of("mail.smtp.from", "mail.smtps.from", "mail.smtp.mailextension",
        "mail.smtps.mailextension", "mail.smtp.quitwait", "mail.smtps.quitwait");

    /** How long a kept connection may take to answer RSET before it takes a mail. */
    static final Duration RESET_TIMEOUT = Duration.ofSeconds(10);

    static final NextHopConnections SHARED = new NextHopConnections(IDLE, REUSE, RESET_TIMEOUT);

    /**
     * What a connection was made for.
     *
     * @param configuration the delivery's JavaMail settings, but those of its own mail
     */
    record Key(String protocol, String host, int port, String user, Optional<Route> route, Optional<Route.Source> source,
               String localHost, String configuration) {
        static Key of(Session session, String protocol, String host, int port, String user, Optional<Route> route,
                      Optional<Route.Source> source, String localHost) {
            Properties properties = session.getProperties();
            Map<String, String> settings = new TreeMap<>();
            for (String name : properties.stringPropertyNames()) {
                if (!PER_MAIL.contains(name)) {
                    settings.put(name, properties.getProperty(name));
                }
            }
            return new Key(protocol, host, port, user, route, source, localHost, settings.toString());
        }
    }

    private final long idleNanos;
    private final long reuseNanos;
    private final int resetMillis;
    private final Map<Key, Deque<NextHopConnection>> idle = new ConcurrentHashMap<>();
    private final Map<NextHopConnection, Key> keys = new ConcurrentHashMap<>();
    private final Object sweeping = new Object();
    private ScheduledExecutorService sweeper;
    private ScheduledFuture<?> sweeps;
    private int kept;
    private int users;
    private volatile boolean closed;

    NextHopConnections(Duration idle, Duration reuse, Duration resetTimeout) {
        this.idleNanos = idle.toNanos();
        this.reuseNanos = reuse.toNanos();
        this.resetMillis = (int) resetTimeout.toMillis();
    }

    /**
     * A kept connection for this key that answered {@code RSET}, if there is one. When one does
     * not answer, the next hop is taken for gone: the key's other kept connections are closed
     * unasked, and the delivery opens a new one.
     */
    Optional<NextHopConnection> borrow(Key key) {
        NextHopConnection connection = take(key);
        if (connection == null) {
            return Optional.empty();
        }
        if (!stale(connection, System.nanoTime()) && connection.reset(resetMillis)) {
            keys.put(connection, key);
            return Optional.of(connection);
        }
        connection.quit();
        NextHopConnection other;
        while ((other = take(key)) != null) {
            other.quit();
        }
        return Optional.empty();
    }

    /** Remembers what a new connection was made for, so that it can be kept after its delivery. */
    void made(NextHopConnection connection, Key key) {
        keys.put(connection, key);
    }

    /** A delivery is over: the connection waits for the next mail to its next hop, or is closed. */
    void giveBack(NextHopConnection connection) {
        Key key = keys.remove(connection);
        long now = System.nanoTime();
        if (key == null || closed || !connection.open() || expired(connection, now) || !keep(key, connection, now)) {
            connection.quit();
        }
    }

    /** A connection that is not to be kept (its delivery broke it); the caller closes it. */
    void forget(NextHopConnection connection) {
        keys.remove(connection);
    }

    private synchronized NextHopConnection take(Key key) {
        Deque<NextHopConnection> waiting = idle.get(key);
        NextHopConnection connection = waiting == null ? null : waiting.pollLast();
        if (connection != null) {
            kept--;
        }
        return connection;
    }

    private synchronized boolean keep(Key key, NextHopConnection connection, long now) {
        if (closed) {
            return false;
        }
        Deque<NextHopConnection> waiting = idle.computeIfAbsent(key, any -> new ArrayDeque<>());
        if (waiting.size() >= PER_NEXT_HOP || kept >= TOTAL) {
            return false;
        }
        connection.idle(now);
        waiting.addLast(connection);
        kept++;
        startSweeping();
        return true;
    }

    private boolean expired(NextHopConnection connection, long now) {
        return now - connection.madeAt() >= reuseNanos;
    }

    /** Waited longer than {@link #IDLE}, or too old: the sweeper may not have come by yet. */
    private boolean stale(NextHopConnection connection, long now) {
        return now - connection.idleSince() >= idleNanos || expired(connection, now);
    }

    /** Closes what waited longer than {@link #IDLE} or is older than {@link #REUSE}. */
    void sweep() {
        long now = System.nanoTime();
        List<NextHopConnection> closing = new ArrayList<>();
        synchronized (this) {
            for (Deque<NextHopConnection> waiting : idle.values()) {
                waiting.removeIf(connection -> {
                    boolean stale = stale(connection, now) || !connection.open();
                    if (stale) {
                        closing.add(connection);
                    }
                    return stale;
                });
            }
            idle.values().removeIf(Deque::isEmpty);
            kept -= closing.size();
        }
        closing.forEach(NextHopConnection::quit);
    }

    /** The number of connections waiting for a mail. */
    synchronized int kept() {
        return kept;
    }

    /** A RemoteDelivery mailet starts using the connections (see {@link #release()}). */
    synchronized void retain() {
        users++;
        closed = false;
    }

    /**
     * A RemoteDelivery mailet is destroyed: when it was the last, every kept connection is closed,
     * and connections of deliveries still running are closed when they end instead of kept.
     */
    void release() {
        boolean last;
        synchronized (this) {
            users = Math.max(0, users - 1);
            last = users == 0;
        }
        if (last) {
            closeAll();
        }
    }

    /** Closes every kept connection; those given back later are closed too, until {@link #retain()}. */
    void closeAll() {
        List<NextHopConnection> closing = new ArrayList<>();
        synchronized (this) {
            closed = true;
            idle.values().forEach(closing::addAll);
            idle.clear();
            kept = 0;
        }
        closing.forEach(NextHopConnection::quit);
        synchronized (sweeping) {
            if (sweeper != null) {
                sweeper.shutdownNow();
                sweeper = null;
                sweeps = null;
            }
        }
    }

    private void startSweeping() {
        synchronized (sweeping) {
            if (sweeps == null) {
                sweeper = Executors.newSingleThreadScheduledExecutor(runnable -> {
                    Thread thread = new Thread(runnable, "postino-next-hop-connections");
                    thread.setDaemon(true);
                    return thread;
                });
                long period = Math.min(TimeUnit.MILLISECONDS.toNanos(500), Math.max(TimeUnit.MILLISECONDS.toNanos(100), idleNanos / 4));
                sweeps = sweeper.scheduleWithFixedDelay(this::sweep, period, period, TimeUnit.NANOSECONDS);
            }
        }
    }
}
