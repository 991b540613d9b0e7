package io.postino.server.smtp;

import java.util.Optional;

import javax.inject.Inject;
import javax.mail.MessagingException;
import javax.mail.internet.MimeMessage;

import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.smtpserver.JamesMessageHook;
import org.apache.mailet.Mail;

import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.SenderIdentity;

/**
 * After DATA, refuses a message whose visible sender is not its organisation's: every address
 * of the From: header fields, and of Sender: when present, must be in the domains of the
 * organisation that {@link EnforceSenderIdentity} verified the envelope for (what DMARC calls
 * alignment). A message without From: is accepted: the verified envelope sender stands for it.
 * Mail that was not attributed at MAIL FROM (inbound mail for the served domains) is not checked.
 *
 * <pre>{@code
 * <handlerchain>
 *     <handler class="io.postino.server.smtp.EnforceSenderIdentity"/>
 *     <handler class="io.postino.server.smtp.EnforceVisibleSender"/>
 * </handlerchain>
 * }</pre>
 *
 * <p>No parameters. Reply on refusal: {@code 550 5.7.1} with the reason; nothing is queued.</p>
 */
public class EnforceVisibleSender implements JamesMessageHook {
    private final Organisations organisations;

    @Inject
    public EnforceVisibleSender(Organisations organisations) {
        this.organisations = organisations;
    }

    @Override
    public HookResult onMessage(SMTPSession session, Mail mail) {
        Optional<Organisation> organisation = session.getAttachment(OrganisationSession.SENDING_ORGANISATION, ProtocolSession.State.Transaction)
            .flatMap(id -> organisations.current().byId(id));
        if (organisation.isEmpty()) {
            return HookResult.DECLINED;
        }
        try {
            MimeMessage message = mail.getMessage();
            for (String header : new String[]{"From", "Sender"}) {
                SenderIdentity.Verdict verdict = SenderIdentity.visibleSender(organisation.get(), header, message.getHeader(header));
                if (!verdict.isAllowed()) {
                    return EnforceSenderIdentity.refused(verdict.refusal().orElseThrow());
                }
            }
        } catch (MessagingException e) {
            return HookResult.builder()
                .hookReturnCode(HookReturnCode.denySoft())
                .smtpReturnCode("451")
                .smtpDescription("4.3.0 The message headers could not be read; try again later")
                .build();
        }
        return HookResult.DECLINED;
    }
}
