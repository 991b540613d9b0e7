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
 * same next hop, and serves mails for at most {@link #REUSE} from its opening; then it is closed
 * with {@code QUIT}. A kept connection is checked with {@code RSET} before it takes a mail.
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
    /** Properties a delivery sets for its own mail: not part of what makes a connection the same. */
    private static final Set<String> PER_MAIL = Set.of("mail.smtp.from", "mail.smtps.from", "mail.smtp.mailextension",
        "mail.smtps.mailextension");

    static final NextHopConnections SHARED = new NextHopConnections(IDLE, REUSE);

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
    private final Map<Key, Deque<NextHopConnection>> idle = new ConcurrentHashMap<>();
    private final Map<NextHopConnection, Key> keys = new ConcurrentHashMap<>();
    private final Object sweeping = new Object();
    private ScheduledExecutorService sweeper;
    private ScheduledFuture<?> sweeps;
    private int kept;

    NextHopConnections(Duration idle, Duration reuse) {
        this.idleNanos = idle.toNanos();
        this.reuseNanos = reuse.toNanos();
    }

    /** A kept connection for this key that answered {@code RSET}, if there is one. */
    Optional<NextHopConnection> borrow(Key key) {
        while (true) {
            NextHopConnection connection = take(key);
            if (connection == null) {
                return Optional.empty();
            }
            if (!expired(connection, System.nanoTime()) && connection.reset()) {
                keys.put(connection, key);
                return Optional.of(connection);
            }
            connection.quit();
        }
    }

    /** Remembers what a new connection was made for, so that it can be kept after its delivery. */
    void made(NextHopConnection connection, Key key) {
        keys.put(connection, key);
    }

    /** A delivery is over: the connection waits for the next mail to its next hop, or is closed. */
    void giveBack(NextHopConnection connection) {
        Key key = keys.remove(connection);
        long now = System.nanoTime();
        if (key == null || !connection.open() || expired(connection, now) || !keep(key, connection, now)) {
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

    /** Closes what waited longer than {@link #IDLE} or is older than {@link #REUSE}. */
    void sweep() {
        long now = System.nanoTime();
        List<NextHopConnection> closing = new ArrayList<>();
        synchronized (this) {
            for (Deque<NextHopConnection> waiting : idle.values()) {
                waiting.removeIf(connection -> {
                    boolean stale = now - connection.idleSince() >= idleNanos || expired(connection, now) || !connection.open();
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

    /** Closes every kept connection (RemoteDelivery is being destroyed). */
    void closeAll() {
        List<NextHopConnection> closing = new ArrayList<>();
        synchronized (this) {
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
                long period = Math.max(TimeUnit.MILLISECONDS.toNanos(100), idleNanos / 4);
                sweeps = sweeper.scheduleWithFixedDelay(this::sweep, period, period, TimeUnit.NANOSECONDS);
            }
        }
    }
}
