package io.postino.server.smtp;

import java.util.Optional;

import javax.inject.Inject;
import javax.mail.Address;
import javax.mail.MessagingException;
import javax.mail.internet.InternetAddress;

import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.smtpserver.JamesMessageHook;
import org.apache.mailet.Mail;

import io.postino.dkim.DkimKeys;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;

/**
 * Refuses, after DATA, mail of an organisation that requires DKIM signing
 * ({@code <dkim required="true"/>} in organisations.xml) when its From: domain (else the envelope
 * sender's) has no DKIM key: {@code 550 5.7.1}, naming the WebAdmin request that creates one.
 * Mail of other organisations without a key leaves unsigned.
 *
 * <pre>{@code
 * <handler class="io.postino.server.smtp.RequireDkimKey"/>
 * }</pre>
 */
public class RequireDkimKey implements JamesMessageHook {
    private final Organisations organisations;
    private final DkimKeys keys;

    @Inject
    public RequireDkimKey(Organisations organisations, DkimKeys keys) {
        this.organisations = organisations;
        this.keys = keys;
    }

    @Override
    public HookResult onMessage(SMTPSession session, Mail mail) {
        Optional<Organisation> organisation = session.getAttachment(OrganisationSession.SENDING_ORGANISATION, ProtocolSession.State.Transaction)
            .flatMap(id -> organisations.current().byId(id));
        if (organisation.isEmpty() || !organisation.get().dkimRequired()) {
            return HookResult.DECLINED;
        }
        Optional<String> domain = fromDomain(mail).or(() -> mail.getMaybeSender().asOptional().map(sender -> sender.getDomain().asString()));
        if (domain.isPresent() && !keys.signingKeys(domain.get()).isEmpty()) {
            return HookResult.DECLINED;
        }
        String which = domain.orElse("the sender's domain");
        return HookResult.builder()
            .hookReturnCode(HookReturnCode.deny())
            .smtpReturnCode("550")
            .smtpDescription("5.7.1 Organisation '" + organisation.get().id() + "' requires DKIM signing, but " + which
                + " has no DKIM key; an administrator creates one with POST /dkim/domains/" + which + "/keys")
            .build();
    }

    private static Optional<String> fromDomain(Mail mail) {
        try {
            Address[] from = mail.getMessage().getFrom();
            if (from == null || from.length == 0 || !(from[0] instanceof InternetAddress)) {
                return Optional.empty();
            }
            String address = ((InternetAddress) from[0]).getAddress();
            return address == null || address.indexOf('@') < 0 ? Optional.empty() : Optional.of(address.substring(address.lastIndexOf('@') + 1));
        } catch (MessagingException e) {
            return Optional.empty();
        }
    }
}
