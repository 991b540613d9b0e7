package io.postino.server.smtp.listener;

import java.net.SocketAddress;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.server.metrics.PostinoMetrics;

/**
 * What a listener refuses and cuts off, as metrics ({@code postino_smtp_connections_refused_total{reason}},
 * {@code postino_smtp_connections_closed_total{reason}}, {@code postino_smtp_client_errors_total{reason}}) and as a log that a flood cannot fill: one
 * line per refusal at most every {@link #LOG_INTERVAL}, with how many were refused since.
 */
final class ListenerMetrics {
    private static final Logger LOGGER = LoggerFactory.getLogger(ListenerMetrics.class);
    private static final Duration LOG_INTERVAL = Duration.ofSeconds(10);

    private final PostinoMetrics metrics;
    private final String listener;
    private final AtomicLong nextLog = new AtomicLong();
    private final AtomicLong unlogged = new AtomicLong();

    ListenerMetrics(PostinoMetrics metrics, String listener) {
        this.metrics = metrics;
        this.listener = listener;
    }

    /** A client as the log shows it: address and port, without a reverse lookup. */
    static String describe(SocketAddress client) {
        if (client instanceof java.net.InetSocketAddress) {
            java.net.InetSocketAddress address = (java.net.InetSocketAddress) client;
            return (address.getAddress() == null ? address.getHostString() : address.getAddress().getHostAddress()) + ":" + address.getPort();
        }
        return String.valueOf(client);
    }

    void connectionRefused(ConnectionBudget.Refusal refusal, SocketAddress client) {
        metrics.connectionRefused(refusal.name().toLowerCase(Locale.ROOT));
        long now = System.nanoTime();
        long next = nextLog.get();
        if (now - next >= 0 && nextLog.compareAndSet(next, now + LOG_INTERVAL.toNanos())) {
            LOGGER.warn("{} refused a connection from {} ({}); {} other refusals since the last report",
                listener, describe(client), refusal.reply.substring(10), unlogged.getAndSet(0));
        } else {
            unlogged.incrementAndGet();
        }
    }

    void timedOut(String reason) {
        metrics.connectionClosed(reason.replace(' ', '_'));
    }

    void clientError(String kind) {
        metrics.clientError(kind);
    }
}
