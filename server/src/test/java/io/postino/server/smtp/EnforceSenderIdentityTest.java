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
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;

class EnforceSenderIdentityTest {
    private final EnforceSenderIdentity hook = new EnforceSenderIdentity(HooksTestData.ORGANISATIONS);

    private static MaybeSender sender(String address) throws Exception {
        return MaybeSender.of(new MailAddress(address));
    }

    private static String organisationOf(SMTPSession session) {
        return session.getAttachment(OrganisationSession.SENDING_ORGANISATION, ProtocolSession.State.Transaction).orElse(null);
    }

    @Test
    void allowedUserIsAttributedToItsOrganisation() throws Exception {
        SMTPSession session = FakeSmtpSession.authenticated("alice@acme.test");

        HookResult result = hook.doMail(session, sender("alice@acme.test"));

        assertThat(result.getResult().getAction()).isEqualTo(HookReturnCode.Action.DECLINED);
        assertThat(organisationOf(session)).isEqualTo("acme");
    }

    @Test
    void userSendingAsAnotherOrganisationGets550And571() throws Exception {
        SMTPSession session = FakeSmtpSession.authenticated("alice@acme.test");

        HookResult result = hook.doMail(session, sender("bob@beta.test"));

        assertThat(result.getResult().getAction()).isEqualTo(HookReturnCode.Action.DENY);
        assertThat(result.getSmtpRetCode()).isEqualTo("550");
        assertThat(result.getSmtpDescription()).startsWith("5.7.1 alice@acme.test may only send as alice@acme.test");
        assertThat(organisationOf(session)).isNull();
    }

    @Test
    void trustedNetworkMayRelayForItsOrganisation() throws Exception {
        SMTPSession session = FakeSmtpSession.client("198.51.100.7", false);

        HookResult result = hook.doMail(session, sender("printer@acme.test"));

        assertThat(result.getResult().getAction()).isEqualTo(HookReturnCode.Action.DECLINED);
        assertThat(session.isRelayingAllowed()).isTrue();
        assertThat(organisationOf(session)).isEqualTo("acme");
    }

    @Test
    void trustedNetworkMayNotUseAnotherOrganisationsDomain() throws Exception {
        SMTPSession session = FakeSmtpSession.client("198.51.100.7", false);

        assertThat(hook.doMail(session, sender("printer@beta.test")).getSmtpRetCode()).isEqualTo("550");
    }

    @Test
    void operatorNetworkMailBelongsToTheSenderDomainsOrganisation() throws Exception {
        SMTPSession session = FakeSmtpSession.client("127.0.0.1", true);

        hook.doMail(session, sender("cron@beta.test"));

        assertThat(organisationOf(session)).isEqualTo("beta");
        assertThat(hook.doMail(FakeSmtpSession.client("127.0.0.1", true), sender("cron@nowhere.test")).getSmtpRetCode()).isEqualTo("550");
    }

    @Test
    void internetClientsAreLeftToTheRelayCheck() throws Exception {
        SMTPSession session = FakeSmtpSession.client("203.0.113.9", false);

        HookResult result = hook.doMail(session, sender("someone@example.org"));

        assertThat(result.getResult().getAction()).isEqualTo(HookReturnCode.Action.DECLINED);
        assertThat(session.isRelayingAllowed()).isFalse();
        assertThat(organisationOf(session)).isNull();
    }

    @Test
    void internetClientsMayNotUseAnOrganisationsDomainWithoutAuth() throws Exception {
        HookResult result = hook.doMail(FakeSmtpSession.client("203.0.113.9", false), sender("ceo@beta.test"));

        assertThat(result.getSmtpRetCode()).isEqualTo("530");
        assertThat(result.getSmtpDescription()).isEqualTo("5.7.0 Sender domain beta.test belongs to organisation beta on this server;"
            + " log in (SMTP AUTH) to send as it");
    }

    @Test
    void aTrustedNetworkRemovedByAReloadStopsRelayingOnAnOpenConnection() throws Exception {
        SMTPSession session = FakeSmtpSession.client("198.51.100.7", false);
        hook.doMail(session, sender("printer@acme.test"));
        session.setAttachment(OrganisationSession.SENDING_ORGANISATION, null, ProtocolSession.State.Transaction);
        EnforceSenderIdentity afterReload = new EnforceSenderIdentity(Organisations.of(new OrganisationsConfig(List.of(
            new Organisation("acme", "Acme", Set.of("acme.test"), List.of(), IdentityPolicy.EXACT, Map.of())))));

        HookResult result = afterReload.doMail(session, sender("printer@acme.test"));

        assertThat(session.isRelayingAllowed()).isFalse();
        assertThat(result.getSmtpRetCode()).isEqualTo("530");
    }
}
