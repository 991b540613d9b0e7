package io.postino.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.apache.commons.configuration2.BaseConfiguration;
import org.apache.james.core.Domain;
import org.apache.james.core.MailAddress;
import org.apache.james.core.MaybeSender;
import org.apache.james.domainlist.api.DomainList;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.junit.jupiter.api.Test;

import io.postino.organisations.IdentityPolicy;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.RelayDomain;
import io.postino.recipients.CalloutVerdict;
import io.postino.recipients.DomainVerdict;
import io.postino.recipients.MemorySuppressionList;
import io.postino.recipients.Suppression;
import io.postino.server.recipients.RecipientSettings;

class VerifyRecipientsTest {
    private static final RelayDomain CORP = new RelayDomain("corp.acme.test", "10.0.0.5", 25);
    private static final Organisations ORGANISATIONS = Organisations.of(new OrganisationsConfig(List.of(
        new Organisation("acme", "Acme", Set.of("acme.test"), List.of(), IdentityPolicy.EXACT, Map.of())
            .withInbound(Optional.empty(), Optional.empty(), List.of(CORP)))));
    private static final MaybeSender SENDER = MaybeSender.nullSender();

    private final Map<String, DomainVerdict> dns = new HashMap<>();
    private final Map<String, CalloutVerdict> internal = new HashMap<>();
    private final List<String> looked = new ArrayList<>();

    private final MemorySuppressionList suppressions = new MemorySuppressionList(Clock.systemUTC());

    private VerifyRecipients hook(boolean dnsCheck) {
        DomainList domainList = (DomainList) Proxy.newProxyInstance(DomainList.class.getClassLoader(), new Class<?>[]{DomainList.class},
            (proxy, method, args) -> {
                if (method.getName().equals("containsDomain")) {
                    return ((Domain) args[0]).asString().equals("served.test");
                }
                throw new UnsupportedOperationException(method.getName());
            });
        BaseConfiguration properties = new BaseConfiguration();
        properties.addProperty("dns.check", String.valueOf(dnsCheck));
        return new VerifyRecipients(ORGANISATIONS, domainList, suppressions,
            (relay, address) -> internal.getOrDefault(address, CalloutVerdict.unknown("connection refused")),
            domain -> {
                looked.add(domain);
                return dns.getOrDefault(domain, DomainVerdict.DELIVERABLE);
            },
            RecipientSettings.from(properties));
    }

    private static SMTPSession acmeSession() {
        SMTPSession session = FakeSmtpSession.client("198.51.100.7", false);
        session.setRelayingAllowed(true);
        session.setAttachment(OrganisationSession.SENDING_ORGANISATION, "acme", ProtocolSession.State.Transaction);
        return session;
    }

    private static SMTPSession stranger() {
        return FakeSmtpSession.client("203.0.113.9", false);
    }

    private static void assertReply(HookResult result, HookReturnCode.Action action, String code, String... texts) {
        assertThat(result.getResult().getAction()).isEqualTo(action);
        assertThat(result.getSmtpRetCode()).isEqualTo(code);
        assertThat(result.getSmtpDescription()).contains(texts);
    }

    @Test
    void roleAddressesOfServedDomainsAreAcceptedFromAnyone() throws Exception {
        VerifyRecipients hook = hook(true);

        assertThat(hook.doRcpt(stranger(), SENDER, new MailAddress("postmaster@acme.test")).getResult()).isEqualTo(HookReturnCode.ok());
        assertThat(hook.doRcpt(stranger(), SENDER, new MailAddress("Abuse@corp.acme.test")).getResult()).isEqualTo(HookReturnCode.ok());
        assertThat(hook.doRcpt(stranger(), SENDER, new MailAddress("postmaster@served.test")).getResult()).isEqualTo(HookReturnCode.ok());
        assertThat(hook.doRcpt(stranger(), SENDER, new MailAddress("postmaster@other.test")).getResult())
            .as("not served: James decides (relay denied)").isEqualTo(HookReturnCode.declined());
        assertThat(internal).isEmpty();
    }

    @Test
    void suppressedRecipientsOfTheSendingOrganisationAreRefused() throws Exception {
        suppressions.add(new Suppression("acme", "gone@example.com", Suppression.BOUNCE, "550 5.1.1", Instant.parse("2026-11-01T10:00:00Z"), Optional.empty()));
        VerifyRecipients hook = hook(true);

        assertReply(hook.doRcpt(acmeSession(), SENDER, new MailAddress("Gone@example.com")), HookReturnCode.Action.DENY, "550",
            "5.1.1 <Gone@example.com> is on the suppression list of organisation 'acme'", "it bounced permanently on 2026-11-01");
        assertThat(hook.doRcpt(stranger(), SENDER, new MailAddress("gone@example.com")).getResult())
            .as("not acme's mail").isEqualTo(HookReturnCode.declined());
    }

    @Test
    void anUnreadableSuppressionListIsATemporaryFailure() throws Exception {
        suppressions.setUnavailable(true);

        assertReply(hook(true).doRcpt(acmeSession(), SENDER, new MailAddress("bob@example.com")), HookReturnCode.Action.DENYSOFT, "451", "4.3.0");
    }

    @Test
    void relayDomainRecipientsAreVerifiedOnTheInternalServer() throws Exception {
        internal.put("alice@corp.acme.test", CalloutVerdict.accepted("250 OK"));
        internal.put("nobody@corp.acme.test", CalloutVerdict.refused("550 5.1.1 unknown user"));
        VerifyRecipients hook = hook(true);

        assertThat(hook.doRcpt(stranger(), SENDER, new MailAddress("alice@corp.acme.test")).getResult()).isEqualTo(HookReturnCode.ok());
        assertReply(hook.doRcpt(stranger(), SENDER, new MailAddress("nobody@corp.acme.test")), HookReturnCode.Action.DENY, "550",
            "5.1.1 <nobody@corp.acme.test> is not a mailbox of Acme", "550 5.1.1 unknown user");
        assertReply(hook.doRcpt(stranger(), SENDER, new MailAddress("carol@corp.acme.test")), HookReturnCode.Action.DENYSOFT, "450",
            "4.4.1 Cannot verify <carol@corp.acme.test> with the mail server of Acme");
        assertThat(looked).as("no DNS check for relay domains").isEmpty();
    }

    @Test
    void outboundDomainsMustReceiveMail() throws Exception {
        dns.put("nullmx.test", DomainVerdict.NULL_MX);
        dns.put("missing.test", DomainVerdict.NO_SUCH_DOMAIN);
        dns.put("nomail.test", DomainVerdict.NO_MAIL_SERVER);
        dns.put("slow.test", DomainVerdict.TEMPORARY_FAILURE);
        VerifyRecipients hook = hook(true);

        assertThat(hook.doRcpt(acmeSession(), SENDER, new MailAddress("bob@fine.test")).getResult()).isEqualTo(HookReturnCode.declined());
        assertReply(hook.doRcpt(acmeSession(), SENDER, new MailAddress("bob@nullmx.test")), HookReturnCode.Action.DENY, "556", "5.1.10", "null MX");
        assertReply(hook.doRcpt(acmeSession(), SENDER, new MailAddress("bob@missing.test")), HookReturnCode.Action.DENY, "550", "5.1.2", "does not exist");
        assertReply(hook.doRcpt(acmeSession(), SENDER, new MailAddress("bob@nomail.test")), HookReturnCode.Action.DENY, "550", "5.1.2", "no mail server");
        assertReply(hook.doRcpt(acmeSession(), SENDER, new MailAddress("bob@slow.test")), HookReturnCode.Action.DENYSOFT, "451", "4.4.3");
    }

    @Test
    void strangersRelayingAreLeftToJamesWithoutALookup() throws Exception {
        assertThat(hook(true).doRcpt(stranger(), SENDER, new MailAddress("bob@elsewhere.test")).getResult()).isEqualTo(HookReturnCode.declined());
        assertThat(hook(true).doRcpt(stranger(), SENDER, new MailAddress("bob@served.test")).getResult()).isEqualTo(HookReturnCode.declined());

        assertThat(looked).containsExactly("served.test");
    }

    @Test
    void theDnsCheckCanBeTurnedOff() throws Exception {
        dns.put("missing.test", DomainVerdict.NO_SUCH_DOMAIN);

        assertThat(hook(false).doRcpt(acmeSession(), SENDER, new MailAddress("bob@missing.test")).getResult()).isEqualTo(HookReturnCode.declined());
        assertThat(looked).isEmpty();
    }
}
