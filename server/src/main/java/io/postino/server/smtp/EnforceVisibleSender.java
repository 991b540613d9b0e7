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
        Optional<String> id = session.getAttachment(OrganisationSession.SENDING_ORGANISATION, ProtocolSession.State.Transaction);
        if (id.isEmpty()) {
            if (session.getUsername() != null || session.isRelayingAllowed()) {
                // Relayed mail is always attributed at MAIL FROM; getting here unattributed means the
                // sender check was skipped, so refuse rather than relay an unverified sender.
                return EnforceSenderIdentity.refused("The sender of this transaction was not verified; send RSET and start again");
            }
            return HookResult.DECLINED;
        }
        Optional<Organisation> organisation = organisations.current().byId(id.get());
        if (organisation.isEmpty()) {
            return HookResult.builder()
                .hookReturnCode(HookReturnCode.denySoft())
                .smtpReturnCode("451")
                .smtpDescription("4.7.0 Organisation " + id.get() + " was removed from the configuration during this transaction; try again")
                .build();
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
