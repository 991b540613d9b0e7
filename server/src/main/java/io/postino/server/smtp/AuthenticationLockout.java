package io.postino.server.smtp;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

import javax.inject.Inject;

import org.apache.commons.configuration2.Configuration;
import org.apache.commons.configuration2.ex.ConfigurationException;
import org.apache.james.core.Username;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.api.OidcSASLConfiguration;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.AuthHook;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.user.api.UsersRepository;
import org.apache.james.user.api.UsersRepositoryException;
import org.apache.james.util.DurationParser;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks SMTP AUTH passwords against the users repository and locks out a client address that
 * fails too often: after {@code maxFailures} failed attempts within {@code window}, every AUTH
 * from that address is answered {@code 454 4.7.0} for {@code lockout}, even with the right
 * password. Other clients are unaffected. The count is per node and shared by all listeners.
 *
 * <p>A failed attempt is answered {@code 535 5.7.8} (RFC 4954). A successful one does not reset
 * the count: failures age out of the window instead. IPv6 clients are counted per /64, the
 * smallest network one subscriber usually gets. AUTH after MAIL FROM, in the middle of a
 * transaction, is refused with {@code 503 5.5.1} (RFC 4954 §4) and does not count.</p>
 *
 * <pre>{@code
 * <handlerchain>
 *     <handler class="io.postino.server.smtp.AuthenticationLockout">
 *         <maxFailures>5</maxFailures>
 *         <window>10m</window>
 *         <lockout>15m</lockout>
 *     </handler>
 * </handlerchain>
 * }</pre>
 *
 * <ul>
 *   <li>{@code maxFailures}: failed attempts that trigger the lockout, at least 1. Default 5.</li>
 *   <li>{@code window}: how far back failures count (e.g. {@code 30s}, {@code 10m}, {@code 1h}), at most 24 hours. Default 10 minutes.</li>
 *   <li>{@code lockout}: how long the address is refused, at most 24 hours. Default 15 minutes.</li>
 * </ul>
 */
public class AuthenticationLockout implements AuthHook {
    private static final Logger LOGGER = LoggerFactory.getLogger(AuthenticationLockout.class);

    private final UsersRepository users;
    private final AuthenticationFailures failures;
    private final Clock clock;
    private int maxFailures = 5;
    private Duration window = Duration.ofMinutes(10);
    private Duration lockout = Duration.ofMinutes(15);

    @Inject
    public AuthenticationLockout(UsersRepository users, AuthenticationFailures failures) {
        this(users, failures, Clock.systemUTC());
    }

    AuthenticationLockout(UsersRepository users, AuthenticationFailures failures, Clock clock) {
        this.users = users;
        this.failures = failures;
        this.clock = clock;
    }

    @Override
    public void init(Configuration config) throws ConfigurationException {
        int configuredMaxFailures = config.getInt("maxFailures", maxFailures);
        if (configuredMaxFailures < 1) {
            throw new ConfigurationException("AuthenticationLockout: <maxFailures> must be at least 1, got " + configuredMaxFailures);
        }
        Duration configuredWindow = duration(config, "window", window);
        Duration configuredLockout = duration(config, "lockout", lockout);
        if (configuredWindow.compareTo(AuthenticationFailures.MEMORY) > 0 || configuredLockout.compareTo(AuthenticationFailures.MEMORY) > 0) {
            throw new ConfigurationException("AuthenticationLockout: <window> and <lockout> may be at most " + AuthenticationFailures.MEMORY.toHours() + " hours");
        }
        maxFailures = configuredMaxFailures;
        window = configuredWindow;
        lockout = configuredLockout;
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
            throw new ConfigurationException("AuthenticationLockout: <" + name + "> must be a positive duration such as 30s, 10m or 1h, got '" + raw + "'");
        }
    }

    @Override
    public HookResult doAuth(SMTPSession session, Username username, String password) {
        if (session.getAttachment(SMTPSession.SENDER, ProtocolSession.State.Transaction).isPresent()) {
            // RFC 4954 §4: a transaction begun unauthenticated must not become authenticated halfway.
            return HookResult.builder()
                .hookReturnCode(HookReturnCode.deny())
                .smtpReturnCode("503")
                .smtpDescription("5.5.1 AUTH is not permitted during a mail transaction; send RSET first")
                .build();
        }
        InetAddress client = session.getRemoteAddress().getAddress();
        Instant now = clock.instant();
        Optional<Instant> locked = failures.lockedUntil(client, now);
        if (locked.isPresent()) {
            return lockedOut(locked.get(), now);
        }
        try {
            if (users.test(username, password)) {
                session.setUsername(username);
                session.setRelayingAllowed(true);
                return HookResult.builder()
                    .hookReturnCode(HookReturnCode.ok())
                    .smtpDescription("2.7.0 Authentication successful")
                    .build();
            }
        } catch (UsersRepositoryException e) {
            LOGGER.warn("Users repository unavailable while authenticating {}", username.asString(), e);
            return HookResult.builder()
                .hookReturnCode(HookReturnCode.denySoft())
                .smtpReturnCode("454")
                .smtpDescription("4.7.0 Temporary authentication failure; try again later")
                .build();
        }
        Optional<Instant> lockedNow = failures.recordFailure(client, now, maxFailures, window, lockout);
        if (lockedNow.isPresent()) {
            LOGGER.warn("SMTP AUTH locked out for {} until {} after {} failures within {}", client.getHostAddress(), lockedNow.get(), maxFailures, window);
        }
        return HookResult.builder()
            .hookReturnCode(HookReturnCode.deny())
            .smtpReturnCode("535")
            .smtpDescription("5.7.8 Authentication credentials invalid")
            .build();
    }

    private static HookResult lockedOut(Instant until, Instant now) {
        long seconds = Math.max(1, Duration.between(now, until).toSeconds());
        return HookResult.builder()
            .hookReturnCode(HookReturnCode.denySoft())
            .smtpReturnCode("454")
            .smtpDescription("4.7.0 Too many failed authentication attempts from your address; try again in " + seconds + " seconds")
            .build();
    }

    @Override
    public HookResult doSasl(SMTPSession session, OidcSASLConfiguration configuration, String initialResponse) {
        return HookResult.DECLINED;
    }
}
