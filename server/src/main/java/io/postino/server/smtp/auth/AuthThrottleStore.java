package io.postino.server.smtp.auth;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Failed logins per (client, login) and per client, where every node of a cluster sees them when
 * it is Redis. A client is an IPv4 address or an IPv6 /64; a login as the user typed it, lower-cased.
 */
public interface AuthThrottleStore {
    /** When an attempt may be checked: now plus {@code wait}; or refused because the client is blocked until {@code blockedUntil}. */
    record Reservation(Duration waitFor, Optional<Instant> blockedUntil) {
        public static Reservation after(Duration waitFor) {
            return new Reservation(waitFor, Optional.empty());
        }

        public static Reservation blocked(Instant until) {
            return new Reservation(Duration.ZERO, Optional.of(until));
        }
    }

    /** What is known of a client or one of its logins, for WebAdmin. */
    record Block(String client, Optional<String> login, long failures, Instant until, String reason) {
    }

    /**
     * Takes the next turn of {@code (client, login)}: the attempt is checked once the wait is
     * over, and, counting it (and any other attempt admitted but not yet checked) as a failure
     * in advance, the turn after it comes no sooner than the delay after that many failures. So
     * parallel attempts are spaced as if they came one after the other. A wait longer
     * than the policy's maximum is returned as is, and the caller refuses the attempt (the turn is
     * not taken).
     */
    Reservation reserve(String client, String login, Instant now, ThrottlePolicy policy);

    /**
     * The right password: the pair starts afresh (the client's own counts stay), and for
     * {@code window} its parallel attempts are not spaced (up to {@code parallelLogins}).
     */
    void succeeded(String client, String login, Instant now, ThrottlePolicy policy);

    /** Counts a failure; returns until when the client is now blocked, if this failure blocked it. */
    Optional<Instant> failed(String client, String login, Instant now, ThrottlePolicy policy);

    /** Blocked clients and delayed logins now. */
    List<Block> blocks(Instant now);

    /** Forgets a client's block and failures (and those of all its logins), or of one login only. */
    boolean clear(String client, Optional<String> login);

    String describe();
}
