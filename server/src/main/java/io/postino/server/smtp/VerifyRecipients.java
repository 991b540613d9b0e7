package io.postino.server.smtp;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import javax.inject.Inject;

import org.apache.james.core.Domain;
import org.apache.james.core.MailAddress;
import org.apache.james.core.MaybeSender;
import org.apache.james.domainlist.api.DomainList;
import org.apache.james.domainlist.api.DomainListException;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.protocols.smtp.hook.RcptHook;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.matchers.IsRoleAddress;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.RelayDomain;
import io.postino.recipients.CalloutVerdict;
import io.postino.recipients.DomainVerdict;
import io.postino.recipients.RecipientDomains;
import io.postino.recipients.RelayRecipients;
import io.postino.recipients.Suppression;
import io.postino.recipients.SuppressionList;
import io.postino.server.recipients.RecipientSettings;

/**
 * Refuses at RCPT TO the recipients Postino could only bounce later, and accepts the addresses it
 * answers for itself. In this order:
 * <ol>
 *   <li>{@code postmaster@} and {@code abuse@} of a served domain (James' domain list, an
 *   organisation's domain or relay domain) are accepted from anyone (RFC 5321 §4.5.1, RFC 2142);
 *   the pipeline routes them ({@code RouteRoleAddresses});</li>
 *   <li>an address on the sending organisation's suppression list: {@code 550 5.1.1};</li>
 *   <li>a recipient of a relay domain is verified on the organisation's internal server (SMTP
 *   callout): accepted, {@code 550 5.1.1} when that server refuses it, {@code 450 4.4.1} when it
 *   cannot be asked;</li>
 *   <li>any other recipient the client may send to (a served domain, or relaying allowed) is
 *   outbound: its domain must have an MX or A/AAAA ({@code 550 5.1.2}), not a null MX
 *   ({@code 556 5.1.10}); a DNS timeout or failure answers {@code 451 4.4.3}. Skipped when
 *   {@code dns.check=false} in conf/recipients.properties.</li>
 * </ol>
 * Place it last in the handler chain: it accepts role addresses and relay-domain recipients
 * itself, so the hooks after it would not see them.
 *
 * <pre>{@code
 * <handler class="io.postino.server.smtp.VerifyRecipients"/>
 * }</pre>
 */
public class VerifyRecipients implements RcptHook {
    private static final Logger LOGGER = LoggerFactory.getLogger(VerifyRecipients.class);

    private final Organisations organisations;
    private final DomainList domainList;
    private final SuppressionList suppressions;
    private final RelayRecipients relayRecipients;
    private final RecipientDomains recipientDomains;
    private final RecipientSettings settings;

    @Inject
    public VerifyRecipients(Organisations organisations, DomainList domainList, SuppressionList suppressions,
                            RelayRecipients relayRecipients, RecipientDomains recipientDomains, RecipientSettings settings) {
        this.organisations = organisations;
        this.domainList = domainList;
        this.suppressions = suppressions;
        this.relayRecipients = relayRecipients;
        this.recipientDomains = recipientDomains;
        this.settings = settings;
    }

    @Override
    public HookResult doRcpt(SMTPSession session, MaybeSender sender, MailAddress recipient) {
        OrganisationsConfig config = organisations.current();
        String domain = recipient.getDomain().asString();
        boolean served = config.answeringFor(domain).isPresent() || inDomainList(recipient.getDomain());
        if (served && IsRoleAddress.LOCAL_PARTS.contains(recipient.getLocalPart().toLowerCase(Locale.ROOT))) {
            return HookResult.OK;
        }
        Optional<String> sending = session.getAttachment(OrganisationSession.SENDING_ORGANISATION, ProtocolSession.State.Transaction);
        if (sending.isPresent()) {
            Optional<Suppression> suppression;
            try {
                suppression = suppressions.find(sending.get(), recipient.asString());
            } catch (SuppressionList.UnavailableException e) {
                LOGGER.warn("Suppression list unavailable: {}", e.getMessage());
                return reply(HookReturnCode.denySoft(), "451", "4.3.0", "Cannot check the suppression list just now; try again later");
            }
            if (suppression.isPresent()) {
                return reply(HookReturnCode.deny(), "550", "5.1.1", "<" + recipient.asString() + "> is on the suppression list of organisation '"
                    + sending.get() + "' (" + describe(suppression.get()) + "): not sent. Remove it from the list to send again");
            }
        }
        Optional<Map.Entry<Organisation, RelayDomain>> relay = config.relayDomain(domain);
        if (relay.isPresent()) {
            return verifyOnInternalServer(relay.get().getKey(), relay.get().getValue(), recipient);
        }
        if (!settings.dnsCheck() || !(served || session.isRelayingAllowed() || session.getUsername() != null)) {
            return HookResult.DECLINED;
        }
        DomainVerdict verdict = recipientDomains.check(domain);
        switch (verdict) {
            case NULL_MX:
                return reply(HookReturnCode.deny(), "556", "5.1.10", "Domain " + domain + " accepts no mail (null MX, RFC 7505)");
            case NO_SUCH_DOMAIN:
                return reply(HookReturnCode.deny(), "550", "5.1.2", "Domain " + domain + " does not exist (DNS: NXDOMAIN)");
            case NO_MAIL_SERVER:
                return reply(HookReturnCode.deny(), "550", "5.1.2", "Domain " + domain + " has no mail server (no MX, A or AAAA record)");
            case TEMPORARY_FAILURE:
                return reply(HookReturnCode.denySoft(), "451", "4.4.3", "Cannot look up the mail servers of " + domain
                    + " just now (DNS did not answer in time or failed); try again later");
            default:
                return HookResult.DECLINED;
        }
    }

    private HookResult verifyOnInternalServer(Organisation organisation, RelayDomain relay, MailAddress recipient) {
        CalloutVerdict verdict = relayRecipients.verify(relay, recipient.asString());
        switch (verdict.outcome()) {
            case ACCEPTED:
                return HookResult.OK;
            case REFUSED:
                return reply(HookReturnCode.deny(), "550", "5.1.1", "<" + recipient.asString() + "> is not a mailbox of "
                    + organisation.name() + " (their server answered: " + verdict.reply() + ")");
            default:
                LOGGER.info("Cannot verify {} on {}: {}", LogSafe.of(recipient.asString()), relay.hostAndPort(), LogSafe.of(verdict.reply()));
                return reply(HookReturnCode.denySoft(), "450", "4.4.1", "Cannot verify <" + recipient.asString() + "> with the mail server of "
                    + organisation.name() + " just now; try again later");
        }
    }

    private boolean inDomainList(Domain domain) {
        try {
            return domainList.containsDomain(domain);
        } catch (DomainListException e) {
            LOGGER.warn("Cannot read the domain list: {}", e.getMessage());
            return false;
        }
    }

    private static String describe(Suppression suppression) {
        String reason = switch (suppression.reason()) {
            case Suppression.BOUNCE -> "it bounced permanently";
            case Suppression.COMPLAINT -> "its owner complained";
            default -> "added by an administrator";
        };
        return reason + " on " + suppression.createdAt().toString().substring(0, 10);
    }

    private static HookResult reply(HookReturnCode code, String smtpCode, String status, String sentence) {
        return HookResult.builder().hookReturnCode(code).smtpReturnCode(smtpCode).smtpDescription(status + " " + sentence).build();
    }
}
