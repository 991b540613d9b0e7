package io.postino.server.smtp.auth;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

/**
 * The counts of this node only, bounded: at most 100,000 clients and 100,000 (client, login)
 * pairs, forgotten a day after their last use (windows and blocks are shorter).
 */
public class MemoryAuthThrottleStore implements AuthThrottleStore {
    private static final Duration MEMORY = Duration.ofHours(24);

    private static final class Pair {
        long failures;
        /** Attempts admitted and not yet checked: each is counted as a failure in advance. */
        long pending;
        Instant lastFailure = Instant.MIN;
        Instant nextTurn = Instant.MIN;
        Instant lastSuccess = Instant.MIN;
    }

    private static final class Client {
        final Map<String, Instant> failedLogins = new HashMap<>();
        final List<Instant> failures = new ArrayList<>();
        Instant blockedUntil = Instant.MIN;
        String reason = "";
    }

    private final Cache<String, Pair> pairs = Caffeine.newBuilder().maximumSize(100_000).expireAfterAccess(MEMORY).build();
    private final Cache<String, Client> clients = Caffeine.newBuilder().maximumSize(100_000).expireAfterAccess(MEMORY).build();

    private static String key(String client, String login) {
        return client + "\n" + login;
    }

    @Override
    public synchronized Reservation reserve(String client, String login, Instant now, ThrottlePolicy policy) {
        Client known = clients.getIfPresent(client);
        if (known != null && known.blockedUntil.isAfter(now)) {
            return Reservation.blocked(known.blockedUntil);
        }
        Pair pair = pairs.get(key(client, login), any -> new Pair());
        if (pair.failures > 0 && pair.lastFailure.isBefore(now.minus(policy.window()))) {
            pair.failures = 0;
            pair.pending = 0;
        }
        Instant turn = pair.nextTurn.isAfter(now) ? pair.nextTurn : now;
        Duration wait = Duration.between(now, turn);
        if (wait.compareTo(policy.maxDelay()) <= 0) {
            pair.pending++;
            boolean loggedIn = pair.lastSuccess.isAfter(now.minus(policy.window()));
            pair.nextTurn = turn.plus(policy.delayAfter(policy.countedInAdvance(pair.failures, pair.pending, loggedIn)));
        }
        return Reservation.after(wait);
    }

    @Override
    public synchronized void succeeded(String client, String login, Instant now, ThrottlePolicy policy) {
        Pair fresh = new Pair();
        fresh.lastSuccess = now;
        pairs.put(key(client, login), fresh);
    }

    @Override
    public synchronized Optional<Instant> failed(String client, String login, Instant now, ThrottlePolicy policy) {
        Pair pair = pairs.get(key(client, login), any -> new Pair());
        if (pair.lastFailure.isBefore(now.minus(policy.window()))) {
            pair.failures = 0;
        }
        pair.failures++;
        pair.pending = Math.max(0, pair.pending - 1);
        pair.lastFailure = now;
        // Attempts still pending count too: parallel guesses are spaced as if one after the other.
        Instant next = now.plus(policy.delayAfter(pair.failures + pair.pending));
        if (next.isAfter(pair.nextTurn)) {
            pair.nextTurn = next;
        }
        Client known = clients.get(client, any -> new Client());
        Instant horizon = now.minus(policy.window());
        known.failedLogins.put(login, now);
        known.failedLogins.values().removeIf(time -> time.isBefore(horizon));
        known.failures.add(now);
        known.failures.removeIf(time -> time.isBefore(horizon));
        if (known.blockedUntil.isAfter(now)) {
            return Optional.empty();
        }
        String reason = known.failedLogins.size() >= policy.sprayLogins()
            ? "failed logins for " + known.failedLogins.size() + " different users within " + policy.window().toMinutes() + " minutes"
            : known.failures.size() >= policy.clientFailures()
            ? known.failures.size() + " failed logins within " + policy.window().toMinutes() + " minutes"
            : null;
        if (reason == null) {
            return Optional.empty();
        }
        known.blockedUntil = now.plus(policy.block());
        known.reason = reason;
        return Optional.of(known.blockedUntil);
    }

    @Override
    public synchronized List<Block> blocks(Instant now) {
        List<Block> blocks = new ArrayList<>();
        clients.asMap().forEach((client, known) -> {
            if (known.blockedUntil.isAfter(now)) {
                blocks.add(new Block(client, Optional.empty(), known.failures.size(), known.blockedUntil, known.reason));
            }
        });
        pairs.asMap().forEach((key, pair) -> {
            if (pair.nextTurn.isAfter(now) && pair.failures > 0) {
                String[] parts = key.split("\n", 2);
                blocks.add(new Block(parts[0], Optional.of(parts[1]), pair.failures, pair.nextTurn,
                    pair.failures + " failed logins: each attempt waits its turn"));
            }
        });
        return blocks;
    }

    @Override
    public synchronized boolean clear(String client, Optional<String> login) {
        if (login.isPresent()) {
            boolean known = pairs.getIfPresent(key(client, login.get())) != null;
            pairs.invalidate(key(client, login.get()));
            return known;
        }
        boolean known = clients.getIfPresent(client) != null;
        clients.invalidate(client);
        pairs.asMap().keySet().removeIf(key -> key.startsWith(client + "\n"));
        return known;
    }

    @Override
    public String describe() {
        return "memory";
    }
}
