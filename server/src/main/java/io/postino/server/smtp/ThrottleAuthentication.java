package io.postino.server.smtp;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;

import javax.inject.Inject;

import org.apache.commons.configuration2.Configuration;
import org.apache.commons.configuration2.ex.ConfigurationException;
import org.apache.james.core.Username;
import org.apache.james.protocols.api.OidcSASLConfiguration;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.user.api.UsersRepository;
import org.apache.james.user.api.UsersRepositoryException;
import org.apache.james.util.DurationParser;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.server.ratelimit.CounterStoreUnavailable;
import io.postino.server.smtp.auth.AuthThrottleStore;
import io.postino.server.smtp.auth.MemoryAuthThrottleStore;
import io.postino.server.smtp.auth.ThrottlePolicy;
import io.postino.server.users.DisabledUsers;

/**
 * Checks SMTP AUTH passwords against the users repository and slows password guessing down
 * without locking honest users out (NIST SP 800-63B section 5.2.2, OWASP: no hard lockout that
 * lets anyone lock a victim out):
 *
 * <ul>
 *   <li>Failures count per (client, login) and per client apart. A client is an IPv4 address or an
 *   IPv6 /64, so behind one NAT another user's login is never slowed by someone else's typos.</li>
 *   <li>After the n-th failure of a (client, login), its next attempt is checked only 2^(n-1)
 *   seconds later, at most {@code maxDelay}: the answer waits (without holding a thread), so the
 *   owner who then types the right password is let in after {@code maxDelay} at worst. Attempts of
 *   one pair take turns across sessions and nodes; one that would wait longer than
 *   {@code maxDelay} is refused at once with {@code 454 4.7.0}. So one login is guessed at most
 *   once every {@code maxDelay} from one client, however many sessions guess in parallel: every
 *   attempt admitted but not yet checked counts as a failure in advance. Only a pair that logged
 *   in within the window and has not failed since (an application's pool of connections logging
 *   in together) has up to {@code parallelLogins} attempts checked at once.</li>
 *   <li>After {@code failuresPerSession} failures the session is closed ({@code 421 4.7.0}).</li>
 *   <li>A client is blocked ({@code 454 4.7.0}, every login, for {@code block}) only when, within
 *   {@code window}, its failures span {@code sprayLogins} different logins (password spraying) or
 *   reach {@code clientFailures} in all.</li>
 *   <li>Counters live where the rate limits' do ({@code conf/ratelimits.properties}: memory, or
 *   Redis for every node); WebAdmin {@code /authentication/blocks} lists and clears them. While
 *   Redis cannot be reached, this node counts in its own memory, so logins neither stop nor go
 *   unthrottled.</li>
 * </ul>
 *
 * <p>A wrong password is answered {@code 535 5.7.8}. The right password of a user an operator
 * disabled ({@link DisabledUsers}, WebAdmin {@code /disabledUsers}) is answered
 * {@code 535 5.7.8} too, but saying that the account is disabled: only after the password was
 * found right, so that a guesser cannot tell a disabled account from a wrong password. It counts
 * as neither a failure nor a login. Place it before any other AUTH hook.</p>
 *
 * <pre>{@code
 * <handlerchain>
 *     <handler class="io.postino.server.smtp.ThrottleAuthentication">
 *         <maxDelay>8s</maxDelay>
 *         <failuresPerSession>3</failuresPerSession>
 *         <window>15m</window>
 *         <sprayLogins>10</sprayLogins>
 *         <clientFailures>100</clientFailures>
 *         <block>15m</block>
 *         <parallelLogins>20</parallelLogins>
 *     </handler>
 * </handlerchain>
 * }</pre>
 *
 * <ul>
 *   <li>{@code maxDelay}: the longest wait between two attempts of one login from one client,
 *   from 1s to 60s. Default 8s.</li>
 *   <li>{@code failuresPerSession}: failures that close the session, at least 1. Default 3.</li>
 *   <li>{@code window}: how long failures are remembered, at most 24h. Default 15m.</li>
 *   <li>{@code sprayLogins}: different failing logins that block a client, at least 2. Default 10.</li>
 *   <li>{@code clientFailures}: failures that block a client, at least 2. Default 100.</li>
 *   <li>{@code block}: how long a blocked client is refused, at most 24h. Default 15m.</li>
 *   <li>{@code parallelLogins}: attempts of one login from one client checked at once while it
 *   has logged in within the window and not failed since, from 1 (every attempt takes its turn) to 1000. Default 20.</li>
 * </ul>
 */
public class ThrottleAuthentication implements PacedAuthHook {
    private static final Logger LOGGER = LoggerFactory.getLogger(ThrottleAuthentication.class);
    private static final ProtocolSession.AttachmentKey<Integer> SESSION_FAILURES =
        ProtocolSession.AttachmentKey.of("postino.auth.failures", Integer.class);
    private static final Duration MAX = Duration.ofHours(24);
    private static final HookResult ACCOUNT_DISABLED = HookResult.builder()
        .hookReturnCode(HookReturnCode.deny())
        .smtpReturnCode("535")
        .smtpDescription("5.7.8 This account is disabled; ask your administrator to enable it again")
        .build();

    private final UsersRepository users;
    private final DisabledUsers disabled;
    private final AuthThrottleStore store;
    private final AuthThrottleStore fallback = new MemoryAuthThrottleStore();
    private final Clock clock;
    private final AtomicReference<Instant> lastStoreWarning = new AtomicReference<>(Instant.MIN);
    private ThrottlePolicy policy = ThrottlePolicy.DEFAULTS;
    private int failuresPerSession = 3;

    @Inject
    public ThrottleAuthentication(UsersRepository users, DisabledUsers disabled, AuthThrottleStore store) {
        this(users, disabled, store, Clock.systemUTC());
    }

    ThrottleAuthentication(UsersRepository users, DisabledUsers disabled, AuthThrottleStore store, Clock clock) {
        this.users = users;
        this.disabled = disabled;
        this.store = store;
        this.clock = clock;
    }

    private interface StoreCall<T> {
        T apply(AuthThrottleStore store);
    }

    /** The shared store, or this node's memory while the shared one cannot be reached. */
    private <T> T counters(StoreCall<T> call) {
        try {
            return call.apply(store);
        } catch (CounterStoreUnavailable e) {
            Instant now = clock.instant();
            Instant last = lastStoreWarning.get();
            if (now.isAfter(last.plus(Duration.ofMinutes(1))) && lastStoreWarning.compareAndSet(last, now)) {
                LOGGER.warn("Authentication counters unavailable ({}): counting failed logins in this node's memory meanwhile", e.getMessage());
            }
            return call.apply(fallback);
        }
    }

    @Override
    public void init(Configuration config) throws ConfigurationException {
        Duration maxDelay = duration(config, "maxDelay", policy.maxDelay());
        if (maxDelay.compareTo(Duration.ofSeconds(1)) < 0 || maxDelay.compareTo(Duration.ofSeconds(60)) > 0) {
            throw new ConfigurationException("ThrottleAuthentication: <maxDelay> must be between 1s and 60s, got " + maxDelay.toSeconds() + "s");
        }
        Duration window = duration(config, "window", policy.window());
        Duration block = duration(config, "block", policy.block());
        if (window.compareTo(MAX) > 0 || block.compareTo(MAX) > 0) {
            throw new ConfigurationException("ThrottleAuthentication: <window> and <block> may be at most 24 hours");
        }
        int sprayLogins = atLeast(config, "sprayLogins", policy.sprayLogins(), 2);
        int clientFailures = atLeast(config, "clientFailures", policy.clientFailures(), 2);
        failuresPerSession = atLeast(config, "failuresPerSession", failuresPerSession, 1);
        int parallelLogins = atLeast(config, "parallelLogins", policy.parallelLogins(), 1);
        if (parallelLogins > 1000) {
            throw new ConfigurationException("ThrottleAuthentication: <parallelLogins> may be at most 1000, got " + parallelLogins);
        }
        policy = new ThrottlePolicy(maxDelay, window, sprayLogins, clientFailures, block, parallelLogins);
    }

    ThrottlePolicy policy() {
        return policy;
    }

    private static int atLeast(Configuration config, String name, int fallback, int minimum) throws ConfigurationException {
        int value;
        try {
            value = config.getInt(name, fallback);
        } catch (RuntimeException e) {
            throw new ConfigurationException("ThrottleAuthentication: <" + name + "> must be a whole number, got '" + config.getString(name) + "'");
        }
        if (value < minimum) {
            throw new ConfigurationException("ThrottleAuthentication: <" + name + "> must be at least " + minimum + ", got " + value);
        }
        return value;
    }

    private static Duration duration(Configuration config, String name, Duration fallback) throws ConfigurationException {
        String raw = config.getString(name, null);
        if (raw == null) {
            return fallback;
        }
        try {
            Duration value = DurationParser.parse(raw.trim(), ChronoUnit.SECONDS);
            if (value.isZero() || value.isNegative()) {
                throw new NumberFormatException("not positive");
            }
            return value;
        } catch (RuntimeException e) {
            throw new ConfigurationException("ThrottleAuthentication: <" + name + "> must be a positive duration such as 8s, 15m or 1h, got '" + raw + "'");
        }
    }

    private static String client(SMTPSession session) {
        return ClientAddress.of(session.getRemoteAddress().getAddress());
    }

    private static String login(Username username) {
        return username.asString().toLowerCase(Locale.ROOT);
    }

    @Override
    public Admission admit(SMTPSession session, Username username) {
        Instant now = clock.instant();
        AuthThrottleStore.Reservation reservation = counters(counts -> counts.reserve(client(session), login(username), now, policy));
        if (reservation.blockedUntil().isPresent()) {
            return Admission.refused(refusal("4.7.0 Too many failed logins from your address; try again in "
                + seconds(now, reservation.blockedUntil().get()) + " seconds"));
        }
        if (reservation.waitFor().compareTo(policy.maxDelay()) > 0) {
            return Admission.refused(refusal("4.7.0 Too many failed logins for this user from your address; try again in "
                + Math.max(1, reservation.waitFor().toSeconds()) + " seconds"));
        }
        return Admission.after(reservation.waitFor());
    }

    private static long seconds(Instant now, Instant until) {
        return Math.max(1, Duration.between(now, until).toSeconds());
    }

    private static HookResult refusal(String description) {
        return HookResult.builder()
            .hookReturnCode(HookReturnCode.denySoft())
            .smtpReturnCode("454")
            .smtpDescription(description)
            .build();
    }

    @Override
    public HookResult doAuth(SMTPSession session, Username username, String password) {
        boolean valid;
        try {
            valid = users.test(username, password);
        } catch (UsersRepositoryException e) {
            LOGGER.warn("Users repository unavailable while authenticating {}: {}", LogSafe.of(username.asString()), e.toString());
            return HookResult.builder()
                .hookReturnCode(HookReturnCode.denySoft())
                .smtpReturnCode("454")
                .smtpDescription("4.7.0 Temporary authentication failure; try again later")
                .build();
        }
        String client = client(session);
        String login = login(username);
        if (valid) {
            counters(counts -> {
                counts.succeeded(client, login, clock.instant(), policy);
                return null;
            });
            if (disabled.isDisabled(username)) {
                return ACCOUNT_DISABLED;
            }
            session.setUsername(username);
            session.setRelayingAllowed(true);
            return HookResult.builder()
                .hookReturnCode(HookReturnCode.ok())
                .smtpDescription("2.7.0 Authentication successful")
                .build();
        }
        counters(counts -> counts.failed(client, login, clock.instant(), policy)).ifPresent(until ->
            LOGGER.warn("SMTP AUTH blocked for {} until {}: failed logins for many users or too many in all", client, until));
        int sessionFailures = session.getAttachment(SESSION_FAILURES, ProtocolSession.State.Connection).orElse(0) + 1;
        session.setAttachment(SESSION_FAILURES, sessionFailures, ProtocolSession.State.Connection);
        if (sessionFailures >= failuresPerSession) {
            return HookResult.builder()
                .hookReturnCode(HookReturnCode.disconnected(HookReturnCode.Action.DENY))
                .smtpReturnCode("421")
                .smtpDescription("4.7.0 Too many failed logins in this session; closing the connection")
                .build();
        }
        return HookResult.builder()
            .hookReturnCode(HookReturnCode.deny())
            .smtpReturnCode("535")
            .smtpDescription("5.7.8 Authentication credentials invalid")
            .build();
    }

    @Override
    public HookResult doSasl(SMTPSession session, OidcSASLConfiguration configuration, String initialResponse) {
        return HookResult.DECLINED;
    }
}
