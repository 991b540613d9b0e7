package io.postino.server.smtp;

import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import javax.inject.Inject;

import org.apache.james.core.MailAddress;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.smtpserver.JamesMessageHook;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;

import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.PostinoAttributes;

/**
 * Marks each accepted mail with the organisation it belongs to and the SMTP AUTH user who sent it
 * ({@code postino.user}), for matchers such as {@code SenderOrganisationIs} and
 * {@code IsAuthenticatedSender}. Submitted mail carries the organisation
 * {@link EnforceSenderIdentity} verified ({@code postino.organisation}); mail received from the
 * Internet for the served domains carries the organisation owning its recipients' domain, when
 * they all share one, under another name ({@code postino.recipientOrganisation}) so that it is
 * never taken for that organisation's own mail.
 *
 * <pre>{@code
 * <handlerchain>
 *     <handler class="io.postino.server.smtp.StampOrganisation"/>
 * </handlerchain>
 * }</pre>
 *
 * <p>No parameters. Never refuses mail.</p>
 */
public class StampOrganisation implements JamesMessageHook {
    private final Organisations organisations;

    @Inject
    public StampOrganisation(Organisations organisations) {
        this.organisations = organisations;
    }

    @Override
    public HookResult onMessage(SMTPSession session, Mail mail) {
        Optional<String> sending = session.getAttachment(OrganisationSession.SENDING_ORGANISATION, ProtocolSession.State.Transaction);
        if (sending.isPresent()) {
            mail.setAttribute(new Attribute(PostinoAttributes.ORGANISATION, AttributeValue.of(sending.get())));
        } else {
            organisationOfRecipients(mail)
                .ifPresent(id -> mail.setAttribute(new Attribute(PostinoAttributes.RECIPIENT_ORGANISATION, AttributeValue.of(id))));
        }
        mail.setAttribute(new Attribute(PostinoAttributes.TRACKING_ID, AttributeValue.of(mail.getName())));
        mail.setAttribute(new Attribute(PostinoAttributes.RECEIVED_AT, AttributeValue.of(System.currentTimeMillis())));
        if (session.getUsername() != null) {
            mail.setAttribute(new Attribute(PostinoAttributes.USER, AttributeValue.of(session.getUsername().asString())));
        }
        return HookResult.DECLINED;
    }

    private Optional<String> organisationOfRecipients(Mail mail) {
        Set<Optional<String>> owners = mail.getRecipients().stream()
            .map(MailAddress::getDomain)
            .map(domain -> organisations.current().owningDomain(domain.asString()).map(Organisation::id))
            .collect(Collectors.toSet());
        return owners.size() == 1 ? owners.iterator().next() : Optional.empty();
    }
}
