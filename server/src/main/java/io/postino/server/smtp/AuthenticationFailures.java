package io.postino.server.smtp;

import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;

import javax.inject.Singleton;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

/**
 * Failed SMTP AUTH attempts per client, shared by every listener of the node so that an attacker
 * gains nothing by switching ports. A client is an IPv4 address or an IPv6 /64. Bounded in
 * memory: entries expire {@link #MEMORY} after their last use (windows and lockouts are at most
 * that long) and at most 100,000 clients are tracked (the least recently used go first).
 */
@Singleton
public class AuthenticationFailures {
    static final Duration MEMORY = Duration.ofHours(24);

    private static final class Client {
        private final Deque<Instant> failures = new ArrayDeque<>();
        private Instant lockedUntil = Instant.MIN;
    }

    private final Cache<String, Client> clients = Caffeine.newBuilder()
        .maximumSize(100_000)
        .expireAfterAccess(MEMORY)
        .build();


    /** When the client's lockout ends, if it is locked out at {@code now}. */
    public Optional<Instant> lockedUntil(InetAddress address, Instant now) {
        Client client = clients.getIfPresent(ClientAddress.of(address));
        if (client == null) {
            return Optional.empty();
        }
        synchronized (client) {
            return client.lockedUntil.isAfter(now) ? Optional.of(client.lockedUntil) : Optional.empty();
        }
    }

    /**
     * Records a failure; when it is the {@code maxFailures}-th within {@code window}, locks the
     * client out for {@code lockout} and returns when that ends.
     */
    public Optional<Instant> recordFailure(InetAddress address, Instant now, int maxFailures, Duration window, Duration lockout) {
        Client client = clients.get(ClientAddress.of(address), any -> new Client());
        synchronized (client) {
            client.failures.addLast(now);
            while (!client.failures.isEmpty() && !client.failures.peekFirst().isAfter(now.minus(window))) {
                client.failures.removeFirst();
            }
            if (client.failures.size() >= maxFailures) {
                client.failures.clear();
                client.lockedUntil = now.plus(lockout);
                return Optional.of(client.lockedUntil);
            }
            return Optional.empty();
        }
    }
}
