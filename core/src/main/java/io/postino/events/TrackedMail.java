package io.postino.events;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import javax.mail.MessagingException;
import javax.mail.internet.MimeMessage;

import org.apache.james.core.MailAddress;

import org.apache.mailet.AttributeUtils;
import org.apache.mailet.Mail;

import io.postino.organisations.PostinoAttributes;

/** How a mail is named in tracking, wherever in the pipeline its events are recorded. */
public final class TrackedMail {
    /**
     * A DSN carries the attributes of the mail it reports on, tracking id included: its own steps
     * are tracked under that id plus this suffix, as a message of its own.
     */
    public static final String NOTIFICATION_SUFFIX = "-notification";

    private TrackedMail() {
    }

    /** The id the mail had when accepted (kept by copies and splits), else its name. */
    public static String id(Mail mail) {
        return AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.TRACKING_ID, String.class).orElse(mail.getName())
            + (mail.getAttribute(PostinoAttributes.NOTIFICATION).isPresent() ? NOTIFICATION_SUFFIX : "");
    }

    /** The organisation that sent the mail, else the one it was received for. */
    public static Optional<String> organisation(Mail mail) {
        return AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.ORGANISATION, String.class)
            .or(() -> AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.RECIPIENT_ORGANISATION, String.class));
    }

    public static Optional<String> user(Mail mail) {
        return AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.USER, String.class);
    }

    /** One event per recipient of the mail, as of now. */
    public static List<DeliveryEvent> events(DeliveryEvent.Type type, Mail mail, Optional<String> remoteHost, Optional<String> reply) {
        Instant now = Instant.now();
        Optional<String> messageId;
        long size;
        try {
            messageId = Optional.ofNullable(mail.getMessage()).map(TrackedMail::messageId).flatMap(id -> id);
            size = mail.getMessageSize();
        } catch (MessagingException e) {
            messageId = Optional.empty();
            size = -1;
        }
        List<DeliveryEvent> events = new ArrayList<>();
        for (MailAddress recipient : mail.getRecipients()) {
            events.add(new DeliveryEvent(type, now, id(mail), messageId, organisation(mail), user(mail), Optional.ofNullable(mail.getRemoteAddr()),
                mail.getMaybeSender().asOptional().map(MailAddress::asString), Optional.of(recipient.asString()), size, remoteHost, reply));
        }
        return events;
    }

    private static Optional<String> messageId(MimeMessage message) {
        try {
            return Optional.ofNullable(message.getMessageID());
        } catch (MessagingException e) {
            return Optional.empty();
        }
    }
}
