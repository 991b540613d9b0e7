package io.postino.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.time.Instant;

import org.apache.commons.configuration2.BaseHierarchicalConfiguration;
import org.apache.james.core.MailAddress;
import org.apache.james.core.MaybeSender;
import org.apache.james.core.Username;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.user.api.UsersRepository;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.postino.testing.TestClock;

class AuthenticationLockoutTest {
    private static final Username ALICE = Username.of("alice@acme.test");

    /** A users repository that knows one password: alice's. */
    private static final UsersRepository USERS = (UsersRepository) Proxy.newProxyInstance(UsersRepository.class.getClassLoader(),
        new Class<?>[]{UsersRepository.class}, (proxy, method, args) -> {
            if (method.getName().equals("test")) {
                return ALICE.equals(args[0]) && "right".equals(args[1]);
            }
            throw new UnsupportedOperationException(method.getName());
        });

    private TestClock clock;
    private AuthenticationLockout hook;

    @BeforeEach
    void setUp() throws Exception {
        clock = new TestClock(Instant.parse("2026-11-29T10:00:00Z"));
        hook = new AuthenticationLockout(USERS, new AuthenticationFailures(), clock);
        BaseHierarchicalConfiguration config = new BaseHierarchicalConfiguration();
        config.addProperty("maxFailures", 3);
        config.addProperty("window", "1m");
        config.addProperty("lockout", "5m");
        hook.init(config);
    }

    private HookResult auth(SMTPSession session, String password) {
        return hook.doAuth(session, ALICE, password);
    }

    @Test
    void rightPasswordAuthenticates() {
        SMTPSession session = FakeSmtpSession.client("192.0.2.1", false);

        assertThat(auth(session, "right").getSmtpDescription()).startsWith("2.7.0");
        assertThat(session.getUsername()).isEqualTo(ALICE);
        assertThat(session.isRelayingAllowed()).isTrue();
    }

    @Test
    void wrongPasswordGets535And578() {
        HookResult result = auth(FakeSmtpSession.client("192.0.2.1", false), "wrong");

        assertThat(result.getSmtpRetCode()).isEqualTo("535");
        assertThat(result.getSmtpDescription()).isEqualTo("5.7.8 Authentication credentials invalid");
    }

    @Test
    void theMaxFailuresthFailureLocksTheAddressOutEvenForTheRightPassword() {
        SMTPSession session = FakeSmtpSession.client("192.0.2.1", false);
        for (int i = 0; i < 3; i++) {
            assertThat(auth(session, "wrong").getSmtpRetCode()).isEqualTo("535");
        }

        HookResult locked = auth(session, "right");

        assertThat(locked.getSmtpRetCode()).isEqualTo("454");
        assertThat(locked.getSmtpDescription()).isEqualTo("4.7.0 Too many failed authentication attempts from your address; try again in 300 seconds");
        assertThat(session.getUsername()).isNull();
    }

    @Test
    void otherAddressesAreNotAffected() {
        SMTPSession attacker = FakeSmtpSession.client("192.0.2.1", false);
        for (int i = 0; i < 3; i++) {
            auth(attacker, "wrong");
        }

        assertThat(auth(FakeSmtpSession.client("192.0.2.2", false), "right").getSmtpDescription()).startsWith("2.7.0");
    }

    @Test
    void lockoutEnds() {
        SMTPSession session = FakeSmtpSession.client("192.0.2.1", false);
        for (int i = 0; i < 3; i++) {
            auth(session, "wrong");
        }

        clock.advance(Duration.ofMinutes(5).plusSeconds(1));

        assertThat(auth(session, "right").getSmtpDescription()).startsWith("2.7.0");
    }

    @Test
    void failuresOutsideTheWindowDoNotCount() {
        SMTPSession session = FakeSmtpSession.client("192.0.2.1", false);
        auth(session, "wrong");
        auth(session, "wrong");
        clock.advance(Duration.ofSeconds(61));

        assertThat(auth(session, "wrong").getSmtpRetCode()).isEqualTo("535");
        assertThat(auth(session, "right").getSmtpDescription()).startsWith("2.7.0");
    }

    @Test
    void authDuringATransactionIsRefusedAndNotCounted() throws Exception {
        SMTPSession session = FakeSmtpSession.client("192.0.2.1", false);
        session.setAttachment(SMTPSession.SENDER, MaybeSender.of(new MailAddress("ceo@beta.test")), ProtocolSession.State.Transaction);

        for (int i = 0; i < 5; i++) {
            HookResult result = auth(session, "right");
            assertThat(result.getSmtpRetCode()).isEqualTo("503");
            assertThat(result.getSmtpDescription()).startsWith("5.5.1 AUTH is not permitted during a mail transaction");
        }
        assertThat(session.getUsername()).isNull();
        assertThat(auth(FakeSmtpSession.client("192.0.2.1", false), "right").getSmtpDescription()).startsWith("2.7.0");
    }

    @Test
    void ipv6ClientsAreCountedPerSlash64() {
        for (int i = 1; i <= 3; i++) {
            auth(FakeSmtpSession.client("2001:db8:1:2::" + i, false), "wrong");
        }

        assertThat(auth(FakeSmtpSession.client("2001:db8:1:2::99", false), "right").getSmtpRetCode()).isEqualTo("454");
        assertThat(auth(FakeSmtpSession.client("2001:db8:1:3::1", false), "right").getSmtpDescription()).startsWith("2.7.0");
    }

    @Test
    void durationsLongerThanADayAreRefused() {
        BaseHierarchicalConfiguration tooLong = new BaseHierarchicalConfiguration();
        tooLong.addProperty("lockout", "2d");
        assertThatThrownBy(() -> hook.init(tooLong)).hasMessageContaining("at most 24 hours");
    }

    @Test
    void invalidParametersAreRefused() {
        BaseHierarchicalConfiguration zero = new BaseHierarchicalConfiguration();
        zero.addProperty("maxFailures", 0);
        assertThatThrownBy(() -> hook.init(zero)).hasMessageContaining("<maxFailures> must be at least 1");

        BaseHierarchicalConfiguration badWindow = new BaseHierarchicalConfiguration();
        badWindow.addProperty("window", "soon");
        assertThatThrownBy(() -> hook.init(badWindow)).hasMessageContaining("<window> must be a positive duration");
    }
}
