package io.postino.mailets;

import java.util.Optional;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeUtils;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMailet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.PostinoAttributes;
import io.postino.organisations.SenderIdentity;

/**
 * Applies the sender identity rules of the SMTP listeners to mail that entered some other way
 * (WebAdmin, an extension that sends mail, a mailet that generates mail), and attributes it to an
 * organisation:
 * <ul>
 *   <li>mail of a user ({@code postino.user} or James' {@code org.apache.james.SMTPAuthUser}): the
 *   user's organisation and identity policy;</li>
 *   <li>mail already attributed ({@code postino.organisation}): the envelope sender must be in that
 *   organisation's domains;</li>
 *   <li>otherwise: the organisation owning the envelope sender's domain;</li>
 *   <li>then every address of From: and Sender: must be in the organisation's domains.</li>
 * </ul>
 * Postino's own notifications pass: null-sender mail carrying {@code postino.notification}, which
 * the shipped {@code bounces} processor sets before DSNBounce (DSNBounce copies the attributes of
 * the bounced mail onto the DSN). Other null-sender mail of no user and no organisation has no
 * owner and is refused.
 *
 * <p>Refused mail gets the reason as its error message and moves to the {@code onViolation}
 * processor. Accepted mail carries {@code postino.organisation}.</p>
 *
 * <ul>
 *   <li>{@code onViolation}: processor for refused mail. Default {@code error}.</li>
 * </ul>
 *
 * <pre>{@code
 * <mailet match="All" class="io.postino.mailets.RejectUnauthorisedSender">
 *     <onViolation>error</onViolation>
 * </mailet>
 * }</pre>
 */
public class RejectUnauthorisedSender extends GenericMailet {
    private static final Logger LOGGER = LoggerFactory.getLogger(RejectUnauthorisedSender.class);

    private final Organisations organisations;
    private String onViolation;

    @Inject
    public RejectUnauthorisedSender(Organisations organisations) {
        this.organisations = organisations;
    }

    @Override
    public void init() throws MessagingException {
        onViolation = getInitParameter("onViolation", "error").trim();
        if (onViolation.isEmpty()) {
            throw new MessagingException("RejectUnauthorisedSender: <onViolation> must name a processor, e.g. error");
        }
    }

    @Override
    public void service(Mail mail) throws MessagingException {
        if (isOwnNotification(mail)) {
            return;
        }
        SenderIdentity.Verdict verdict = envelopeVerdict(mail, organisations.current());
        if (verdict.isAllowed()) {
            Organisation organisation = verdict.organisation().orElseThrow();
            for (String header : new String[]{"From", "Sender"}) {
                verdict = SenderIdentity.visibleSender(organisation, header, mail.getMessage().getHeader(header));
                if (!verdict.isAllowed()) {
                    break;
                }
            }
            if (verdict.isAllowed()) {
                mail.setAttribute(new Attribute(PostinoAttributes.ORGANISATION, AttributeValue.of(organisation.id())));
                return;
            }
        }
        String reason = verdict.refusal().orElseThrow();
        LOGGER.warn("Mail {} from {} refused: {}", mail.getName(), mail.getMaybeSender().asString(), reason);
        mail.setErrorMessage("Unauthorised sender: " + reason);
        mail.setState(onViolation);
    }

    private SenderIdentity.Verdict envelopeVerdict(Mail mail, OrganisationsConfig config) {
        Optional<String> user = AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.USER, String.class)
            .or(() -> AttributeUtils.getValueAndCastFromMail(mail, Mail.SMTP_AUTH_USER, String.class));
        if (user.isPresent()) {
            return SenderIdentity.forUser(config, user.get(), mail.getMaybeSender());
        }
        Optional<String> attributed = AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.ORGANISATION, String.class);
        if (attributed.isPresent()) {
            return config.byId(attributed.get())
                .map(organisation -> SenderIdentity.forTrustedNetwork(organisation, mail.getMaybeSender()))
                .orElseGet(() -> SenderIdentity.forSenderDomain(config, mail.getMaybeSender()));
        }
        return SenderIdentity.forSenderDomain(config, mail.getMaybeSender());
    }

    /** A DSN or other notice of Postino's own: null sender, marked by the bounces processor. */
    private boolean isOwnNotification(Mail mail) {
        return mail.getMaybeSender().isNullSender() && mail.getAttribute(PostinoAttributes.NOTIFICATION).isPresent();
    }

    @Override
    public String getMailetInfo() {
        return "Refuses mail whose sender is not authorised by its organisation";
    }
}
