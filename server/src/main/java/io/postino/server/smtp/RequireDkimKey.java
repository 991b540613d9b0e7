package io.postino.server.smtp;

import java.util.Optional;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.smtpserver.JamesMessageHook;
import org.apache.mailet.Mail;

import io.postino.dkim.DkimKeys;
import io.postino.dkim.SigningDomain;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;

/**
 * Refuses, after DATA, mail of an organisation that requires DKIM signing
 * ({@code <dkim required="true"/>} in organisations.xml) when its From: domain has no active DKIM
 * key, or when it has no From: header: {@code 550 5.7.1}, naming the WebAdmin request that
 * creates one. The From: domain is the one {@code SignDkim} signs for.
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
        Optional<String> domain;
        try {
            domain = SigningDomain.of(mail.getMessage());
        } catch (MessagingException e) {
            domain = Optional.empty();
        }
        if (domain.isEmpty()) {
            return HookResult.builder()
                .hookReturnCode(HookReturnCode.deny())
                .smtpReturnCode("550")
                .smtpDescription("5.7.1 Organisation '" + organisation.get().id() + "' requires DKIM signing, which is for the domain of"
                    + " the From: header, and this message has none")
                .build();
        }
        if (!keys.signingKeys(domain.get()).isEmpty()) {
            return HookResult.DECLINED;
        }
        String which = domain.get();
        return HookResult.builder()
            .hookReturnCode(HookReturnCode.deny())
            .smtpReturnCode("550")
            .smtpDescription("5.7.1 Organisation '" + organisation.get().id() + "' requires DKIM signing, but " + which
                + " has no active DKIM key; an administrator creates one with POST /dkim/domains/" + which + "/keys and activates it")
            .build();
    }

}
