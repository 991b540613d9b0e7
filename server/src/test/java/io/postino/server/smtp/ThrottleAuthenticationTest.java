package io.postino.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.time.Instant;

import org.apache.commons.configuration2.BaseHierarchicalConfiguration;
import org.apache.james.core.Username;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.user.api.UsersRepository;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.postino.server.smtp.auth.MemoryAuthThrottleStore;
import io.postino.server.smtp.auth.ThrottlePolicy;
import io.postino.server.users.DisabledUsers;
import io.postino.testing.TestClock;

class ThrottleAuthenticationTest {
    private static final Username ALICE = Username.of("alice@acme.test");
    private static final Username BOB = Username.of("bob@acme.test");

    /** A users repository that knows two passwords. */
    private static final UsersRepository USERS = (UsersRepository) Proxy.newProxyInstance(UsersRepository.class.getClassLoader(),
        new Class<?>[]{UsersRepository.class}, (proxy, method, args) -> {
            if (method.getName().equals("test")) {
                return (ALICE.equals(args[0]) || BOB.equals(args[0])) && "right".equals(args[1]);
            }
            throw new UnsupportedOperationException(method.getName());
        });

    private final DisabledUsers disabled = DisabledUsers.inMemory();
    private TestClock clock;
    private ThrottleAuthentication hook;

    @BeforeEach
    void setUp() throws Exception {
        clock = new TestClock(Instant.parse("2026-12-01T10:00:00Z"));
        hook = new ThrottleAuthentication(USERS, disabled, new MemoryAuthThrottleStore(), clock);
        BaseHierarchicalConfiguration config = new BaseHierarchicalConfiguration();
        config.addProperty("maxDelay", "8s");
        config.addProperty("failuresPerSession", 3);
        config.addProperty("sprayLogins", 4);
        config.addProperty("clientFailures", 20);
        hook.init(config);
    }

    /** An attempt as AuthOverTlsCmdHandler makes it: admission, then (after the wait) the check. */
    private HookResult attempt(SMTPSession session, Username user, String password) {
        PacedAuthHook.Admission admission = hook.admit(session, user);
        if (admission.refusal().isPresent()) {
            return admission.refusal().get();
        }
        clock.advance(admission.delay());
        return hook.doAuth(session, user, password);
    }

    private Duration delayOf(SMTPSession session, Username user) {
        return hook.admit(session, user).delay();
    }

    @Test
    void theRightPasswordLogsIn() {
        SMTPSession session = FakeSmtpSession.client("192.0.2.1", false);

        assertThat(attempt(session, ALICE, "right").getSmtpDescription()).isEqualTo("2.7.0 Authentication successful");
        assertThat(session.getUsername()).isEqualTo(ALICE);
        assertThat(session.isRelayingAllowed()).isTrue();
    }

    @Test
    void aDisabledUserIsToldSoOnlyWithTheRightPassword() {
        disabled.disable("alice@acme.test");
        SMTPSession session = FakeSmtpSession.client("192.0.2.1", false);

        HookResult wrong = attempt(session, ALICE, "wrong");
        HookResult right = attempt(session, ALICE, "right");

        assertThat(wrong.getSmtpRetCode() + " " + wrong.getSmtpDescription()).isEqualTo("535 5.7.8 Authentication credentials invalid");
        assertThat(right.getSmtpRetCode()).isEqualTo("535");
        assertThat(right.getSmtpDescription()).startsWith("5.7.8 ").contains("disabled", "administrator");
        assertThat(session.getUsername()).isNull();
        assertThat(session.isRelayingAllowed()).isFalse();
    }

    @Test
    void anEnabledUserLogsInAgain() {
        disabled.disable("alice@acme.test");
        disabled.enable("alice@acme.test");
        SMTPSession session = FakeSmtpSession.client("192.0.2.1", false);

        assertThat(attempt(session, ALICE, "right").getSmtpDescription()).isEqualTo("2.7.0 Authentication successful");
    }

    @Test
    void eachFailureDoublesTheWaitOfTheNextAttemptUpToTheMaximum() {
        SMTPSession first = FakeSmtpSession.client("192.0.2.1", false);
        assertThat(attempt(first, ALICE, "wrong").getSmtpRetCode()).isEqualTo("535");
        assertThat(hook.admit(first, ALICE).delay()).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void waitsGrow1248AndStayAt8() {
        Duration[] expected = {Duration.ZERO, Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(4), Duration.ofSeconds(8), Duration.ofSeconds(8)};
        for (Duration wait : expected) {
            SMTPSession session = FakeSmtpSession.client("192.0.2.1", false);
            PacedAuthHook.Admission admission = hook.admit(session, ALICE);
            assertThat(admission.delay()).isEqualTo(wait);
            clock.advance(admission.delay());
            assertThat(hook.doAuth(session, ALICE, "wrong").getSmtpRetCode()).isEqualTo("535");
        }
    }

    @Test
    void anotherLoginFromTheSameAddressIsNotSlowedDown() {
        for (int i = 0; i < 3; i++) {
            attempt(FakeSmtpSession.client("192.0.2.1", false), ALICE, "wrong");
        }

        assertThat(delayOf(FakeSmtpSession.client("192.0.2.1", false), BOB)).isZero();
    }

    @Test
    void theOwnerGetsInAfterAtMostTheMaximumDelay() {
        for (int i = 0; i < 6; i++) {
            attempt(FakeSmtpSession.client("198.51.100.9", false), ALICE, "wrong");
        }
        SMTPSession owner = FakeSmtpSession.client("198.51.100.9", false);

        PacedAuthHook.Admission admission = hook.admit(owner, ALICE);
        assertThat(admission.refusal()).isEmpty();
        assertThat(admission.delay()).isLessThanOrEqualTo(Duration.ofSeconds(8));
        clock.advance(admission.delay());
        assertThat(hook.doAuth(owner, ALICE, "right").getSmtpRetCode()).isNull();
        assertThat(owner.getUsername()).isEqualTo(ALICE);
        assertThat(delayOf(FakeSmtpSession.client("198.51.100.9", false), ALICE)).isZero();
    }

    @Test
    void concurrentAttemptsTakeTurnsAndOneBeyondTheMaximumIsRefusedAtOnce() {
        for (int i = 0; i < 4; i++) {
            attempt(FakeSmtpSession.client("192.0.2.1", false), ALICE, "wrong");
        }
        assertThat(delayOf(FakeSmtpSession.client("192.0.2.1", false), ALICE)).isEqualTo(Duration.ofSeconds(8));

        HookResult second = hook.admit(FakeSmtpSession.client("192.0.2.1", false), ALICE).refusal().orElseThrow();

        assertThat(second.getSmtpRetCode()).isEqualTo("454");
        assertThat(second.getSmtpDescription()).startsWith("4.7.0 Too many failed logins for this user from your address; try again in 16 seconds");
    }

    @Test
    void parallelFirstAttemptsAreSpacedAsIfTheyCameOneAfterTheOther() {
        Duration[] expected = {Duration.ZERO, Duration.ofSeconds(1), Duration.ofSeconds(3), Duration.ofSeconds(7)};
        for (Duration wait : expected) {
            assertThat(hook.admit(FakeSmtpSession.client("192.0.2.1", false), ALICE).delay()).isEqualTo(wait);
        }
        assertThat(hook.admit(FakeSmtpSession.client("192.0.2.1", false), ALICE).refusal()).as("a fifth would wait 15 s").isPresent();
    }

    @Test
    void afterALoginParallelAttemptsAreCheckedAtOnceUpToParallelLoginsThenSpaced() {
        assertThat(attempt(FakeSmtpSession.client("192.0.2.1", false), ALICE, "right").getSmtpRetCode()).isNull();
        for (int i = 0; i < ThrottlePolicy.DEFAULTS.parallelLogins(); i++) {
            assertThat(hook.admit(FakeSmtpSession.client("192.0.2.1", false), ALICE).delay()).as("attempt %d", i + 1).isZero();
        }
        Duration[] expected = {Duration.ofSeconds(1), Duration.ofSeconds(3), Duration.ofSeconds(7)};
        for (Duration wait : expected) {
            assertThat(hook.admit(FakeSmtpSession.client("192.0.2.1", false), ALICE).delay()).isEqualTo(wait);
        }
        assertThat(hook.admit(FakeSmtpSession.client("192.0.2.1", false), ALICE).refusal()).as("the next would wait 15 s").isPresent();
    }

    @Test
    void theThirdFailureOfASessionClosesIt() {
        SMTPSession session = FakeSmtpSession.client("192.0.2.1", false);
        attempt(session, ALICE, "wrong");
        attempt(session, ALICE, "wrong");

        HookResult third = attempt(session, ALICE, "wrong");

        assertThat(third.getSmtpRetCode()).isEqualTo("421");
        assertThat(third.getResult().isDisconnected()).isTrue();
    }

    @Test
    void failuresAcrossManyLoginsBlockTheClientForEveryone() {
        for (String user : new String[]{"a", "b", "c", "d"}) {
            attempt(FakeSmtpSession.client("203.0.113.5", false), Username.of(user + "@acme.test"), "guess");
        }

        HookResult refused = hook.admit(FakeSmtpSession.client("203.0.113.5", false), BOB).refusal().orElseThrow();

        assertThat(refused.getSmtpRetCode()).isEqualTo("454");
        assertThat(refused.getSmtpDescription()).startsWith("4.7.0 Too many failed logins from your address; try again in 900 seconds");
        assertThat(hook.admit(FakeSmtpSession.client("203.0.113.6", false), BOB).refusal()).isEmpty();
    }

    @Test
    void failuresAreForgottenAfterTheWindow() {
        for (int i = 0; i < 4; i++) {
            attempt(FakeSmtpSession.client("192.0.2.1", false), ALICE, "wrong");
        }
        clock.advance(Duration.ofMinutes(16));

        assertThat(delayOf(FakeSmtpSession.client("192.0.2.1", false), ALICE)).isZero();
    }

    @Test
    void ipv6ClientsAreCountedPer64() {
        for (int i = 0; i < 3; i++) {
            attempt(FakeSmtpSession.client("2001:db8:1:1::" + (i + 1), false), ALICE, "wrong");
        }

        assertThat(delayOf(FakeSmtpSession.client("2001:db8:1:1::99", false), ALICE)).isEqualTo(Duration.ofSeconds(4));
        assertThat(delayOf(FakeSmtpSession.client("2001:db8:1:2::1", false), ALICE)).isZero();
    }

    @Test
    void badParametersAreRefusedAtStartUp() {
        BaseHierarchicalConfiguration config = new BaseHierarchicalConfiguration();
        config.addProperty("maxDelay", "5m");
        assertThatThrownBy(() -> hook.init(config)).hasMessageContaining("<maxDelay> must be between 1s and 60s");
        BaseHierarchicalConfiguration spray = new BaseHierarchicalConfiguration();
        spray.addProperty("sprayLogins", 1);
        assertThatThrownBy(() -> hook.init(spray)).hasMessageContaining("<sprayLogins> must be at least 2");
        BaseHierarchicalConfiguration window = new BaseHierarchicalConfiguration();
        window.addProperty("window", "soon");
        assertThatThrownBy(() -> hook.init(window)).hasMessageContaining("<window> must be a positive duration");
        BaseHierarchicalConfiguration parallel = new BaseHierarchicalConfiguration();
        parallel.addProperty("parallelLogins", 1001);
        assertThatThrownBy(() -> hook.init(parallel)).hasMessageContaining("<parallelLogins> may be at most 1000");
        BaseHierarchicalConfiguration none = new BaseHierarchicalConfiguration();
        none.addProperty("parallelLogins", 0);
        assertThatThrownBy(() -> hook.init(none)).hasMessageContaining("<parallelLogins> must be at least 1");
    }
}
