package io.postino.server.smtp.auth;

import java.time.Duration;

/**
 * How failed SMTP logins are slowed down, from {@code ThrottleAuthentication}'s parameters.
 *
 * @param maxDelay the longest wait between two attempts of one (client, login); the n-th failure
 *                 makes the next attempt wait 2^(n-1) seconds, up to this
 * @param window how long failures are remembered
 * @param sprayLogins distinct logins failing from one client within the window that block it
 * @param clientFailures failures from one client within the window that block it
 * @param block how long a blocked client is refused
 * @param parallelLogins attempts of one (client, login) that logged in within the window and has
 *                       not failed since, checked at once; beyond them, for a pair that has not
 *                       logged in yet, and as soon as there is a failure, every attempt admitted
 *                       but not yet checked counts as a failure in advance
 */
public record ThrottlePolicy(Duration maxDelay, Duration window, int sprayLogins, int clientFailures, Duration block,
                             int parallelLogins) {
    public static final ThrottlePolicy DEFAULTS = new ThrottlePolicy(Duration.ofSeconds(8), Duration.ofMinutes(15), 10, 100,
        Duration.ofMinutes(15), 20);

    /**
     * The failures to count in advance once {@code pending} attempts (this one included) are
     * admitted and not yet checked: parallel logins of a pair that proved its password within the
     * window and has not failed since (an application's pool of connections) are not spaced, up
     * to {@code parallelLogins} of them; a guesser never gets there.
     */
    public long countedInAdvance(long failures, long pending, boolean loggedInRecently) {
        return failures > 0 || !loggedInRecently ? failures + pending : Math.max(0, pending - parallelLogins + 1);
    }

    /** The wait after {@code failures} failures of one (client, login). */
    public Duration delayAfter(long failures) {
        if (failures <= 0) {
            return Duration.ZERO;
        }
        long millis = 1000L << Math.min(failures - 1, 30);
        return Duration.ofMillis(Math.min(millis, maxDelay.toMillis()));
    }
}
