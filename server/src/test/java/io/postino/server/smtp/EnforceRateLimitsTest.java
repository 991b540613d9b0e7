package io.postino.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.james.core.MailAddress;
import org.apache.james.core.MaybeSender;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.junit.jupiter.api.Test;

import io.postino.organisations.IdentityPolicy;
import io.postino.organisations.Limit;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;
import io.postino.server.ratelimit.MemoryCounters;
import io.postino.server.ratelimit.RateLimitSettings;
import io.postino.server.metrics.PostinoMetrics;
import io.postino.server.ratelimit.RateLimiter;

class EnforceRateLimitsTest {
    private static final Organisations ORGANISATIONS = Organisations.of(new OrganisationsConfig(
        List.of(new Organisation("acme", "Acme", Set.of("acme.test"), List.of(), IdentityPolicy.DOMAIN, Map.of(),
            List.of(new Limit(Limit.Scope.ORGANISATION, Limit.Period.QUOTA_DAY, Limit.Unit.RECIPIENTS, 5)), Map.of())),
        List.of(new Limit(Limit.Scope.USER, Limit.Period.MINUTE, Limit.Unit.MESSAGES, 2),
            new Limit(Limit.Scope.USER, Limit.Period.MINUTE, Limit.Unit.RECIPIENTS, 3),
            new Limit(Limit.Scope.CLIENT, Limit.Period.HOUR, Limit.Unit.MESSAGES, 1)),
        List.of()));

    private final EnforceRateLimits hook = new EnforceRateLimits(ORGANISATIONS,
        new RateLimiter(new MemoryCounters(), RateLimitSettings.DEFAULTS, new PostinoMetrics()));

    private static SMTPSession alice() {
        SMTPSession session = FakeSmtpSession.authenticated("alice@acme.test");
        session.setAttachment(OrganisationSession.SENDING_ORGANISATION, "acme", ProtocolSession.State.Transaction);
        return session;
    }

    private static final SpoolReceivedMail QUEUEING = new SpoolReceivedMail(null);

    /** The transaction's recipients, then James' answer to queueing the message. */
    private void queue(SMTPSession session, int recipients, HookReturnCode answer) throws Exception {
        List<MailAddress> accepted = new java.util.ArrayList<>();
        for (int i = 0; i < recipients; i++) {
            accepted.add(new MailAddress("r" + i + "@example.net"));
        }
        session.setAttachment(SMTPSession.RCPT_LIST, accepted, ProtocolSession.State.Transaction);
        hook.onHookResult(session, HookResult.builder().hookReturnCode(answer).build(), 1, QUEUEING);
        session.setAttachment(SMTPSession.RCPT_LIST, List.of(), ProtocolSession.State.Transaction);
    }

    private void accept(SMTPSession session, int recipients) throws Exception {
        queue(session, recipients, HookReturnCode.ok());
    }

    @Test
    void aMessageJamesCouldNotQueueCostsNothing() throws Exception {
        SMTPSession session = alice();
        for (int i = 0; i < 5; i++) {
            queue(session, 1, HookReturnCode.denySoft());
        }

        assertThat(hook.doMail(session, sender()).getResult().getAction()).isEqualTo(HookReturnCode.Action.DECLINED);
    }

    @Test
    void ipv6ClientsAreCountedPerSlash64() throws Exception {
        accept(FakeSmtpSession.client("2001:db8:1:2::1", false), 1);

        assertThat(hook.doMail(FakeSmtpSession.client("2001:db8:1:2::99", false), sender()).getSmtpDescription())
            .startsWith("4.7.1 Rate limit reached: client 2001:0db8:0001:0002::/64 may send 1 messages per hour");
    }

    private static MaybeSender sender() throws Exception {
        return MaybeSender.of(new MailAddress("alice@acme.test"));
    }

    @Test
    void messagesOverTheUserLimitGet451WithTheLimitAndTheWait() throws Exception {
        SMTPSession session = alice();
        accept(session, 1);
        accept(session, 1);

        HookResult result = hook.doMail(session, sender());

        assertThat(result.getResult().getAction()).isEqualTo(HookReturnCode.Action.DENYSOFT);
        assertThat(result.getSmtpRetCode()).isEqualTo("451");
        assertThat(result.getSmtpDescription()).matches("4\\.7\\.1 Rate limit reached: user alice@acme\\.test may send 2 messages per minute;"
            + " try again in \\d+ seconds");
    }

    @Test
    void recipientsCountTheOnesAlreadyAcceptedInTheTransaction() throws Exception {
        SMTPSession session = alice();
        session.setAttachment(SMTPSession.RCPT_LIST, List.of(new MailAddress("a@example.net"), new MailAddress("b@example.net"),
            new MailAddress("c@example.net")), ProtocolSession.State.Transaction);

        HookResult fourth = hook.doRcpt(session, sender(), new MailAddress("d@example.net"));

        assertThat(fourth.getSmtpRetCode()).isEqualTo("452");
        assertThat(fourth.getSmtpDescription()).startsWith("4.7.1 Rate limit reached: user alice@acme.test may send to 3 recipients per minute");
    }

    @Test
    void refusedTransactionsCostNothing() throws Exception {
        SMTPSession session = alice();
        for (int i = 0; i < 10; i++) {
            assertThat(hook.doMail(session, sender()).getResult().getAction()).isEqualTo(HookReturnCode.Action.DECLINED);
        }
    }

    @Test
    void theOrganisationsQuotaIsSharedByItsUsers() throws Exception {
        accept(alice(), 3);
        SMTPSession bob = FakeSmtpSession.authenticated("bob@acme.test");
        bob.setAttachment(OrganisationSession.SENDING_ORGANISATION, "acme", ProtocolSession.State.Transaction);
        accept(bob, 2);

        HookResult result = hook.doRcpt(bob, sender(), new MailAddress("x@example.net"));

        assertThat(result.getSmtpRetCode()).isEqualTo("452");
        assertThat(result.getSmtpDescription()).startsWith("4.7.1 Quota reached: organisation acme has used a quota of 5 recipients per day (UTC)");
    }

    @Test
    void unauthenticatedClientsAreLimitedPerAddress() throws Exception {
        SMTPSession first = FakeSmtpSession.client("192.0.2.7", true);
        accept(first, 1);

        assertThat(hook.doMail(FakeSmtpSession.client("192.0.2.7", true), sender()).getSmtpDescription())
            .startsWith("4.7.1 Rate limit reached: client 192.0.2.7 may send 1 messages per hour");
        assertThat(hook.doMail(FakeSmtpSession.client("192.0.2.8", true), sender()).getResult().getAction())
            .isEqualTo(HookReturnCode.Action.DECLINED);
    }
}
