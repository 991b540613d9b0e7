package io.postino.mailets;

import java.util.Optional;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.mailet.AttributeName;
import org.apache.mailet.AttributeUtils;
import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMailet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.events.DeliveryEvent;
import io.postino.events.DeliveryEvents;
import io.postino.events.TrackedMail;
import io.postino.organisations.PostinoAttributes;

/**
 * Records a step of the mail's life for each of its recipients (tracking, webhooks): the shipped
 * pipeline records {@code queued} before RemoteDelivery, {@code delivered} in RemoteDelivery's
 * {@code onSuccess} processor and {@code bounced} in the bounces processor. Never changes the mail.
 *
 * <ul>
 *   <li>{@code type}: {@code queued}, {@code deferred}, {@code delivered}, {@code bounced} or
 *   {@code suppressed}. Required.</li>
 *   <li>{@code remoteHost}: recorded as the remote host when the mail does not say. Default: none.</li>
 * </ul>
 * The remote host and reply recorded are those RemoteDelivery got ({@code postino.remoteHost},
 * {@code postino.remoteReply}), else the {@code remoteHost} parameter and the remote reply of a
 * bounce ({@code delivery-error}) or the mail's error message. Steps of a DSN are recorded under the id of the mail it reports on, suffixed
 * {@code -notification}.
 *
 * <pre>{@code
 * <mailet match="All" class="io.postino.mailets.RecordEvent">
 *     <type>bounced</type>
 * </mailet>
 * }</pre>
 */
public class RecordEvent extends GenericMailet {
    private static final Logger LOGGER = LoggerFactory.getLogger(RecordEvent.class);
    /** What RemoteDelivery's bouncer records as the remote reply (James' Bouncer.DELIVERY_ERROR). */
    static final AttributeName DELIVERY_ERROR = AttributeName.of("delivery-error");
    private final DeliveryEvents events;
    private DeliveryEvent.Type type;
    private Optional<String> remoteHost;

    @Inject
    public RecordEvent(DeliveryEvents events) {
        this.events = events;
    }

    @Override
    public void init() throws MessagingException {
        String raw = getInitParameter("type");
        if (raw == null || raw.isBlank()) {
            throw new MessagingException("RecordEvent needs <type>: queued, deferred, delivered, bounced or suppressed");
        }
        try {
            type = DeliveryEvent.Type.fromConfigName(raw);
        } catch (IllegalArgumentException e) {
            throw new MessagingException("RecordEvent: unknown <type> '" + raw + "'; use queued, deferred, delivered, bounced or suppressed");
        }
        if (type == DeliveryEvent.Type.RECEIVED || type == DeliveryEvent.Type.REJECTED || type == DeliveryEvent.Type.RATE_LIMITED) {
            throw new MessagingException("RecordEvent: <type> " + raw + " is recorded by the SMTP listeners, not by a mailet");
        }
        remoteHost = Optional.ofNullable(getInitParameter("remoteHost")).map(String::trim).filter(host -> !host.isEmpty());
    }

    /** Tracking must never stop mail: a step that cannot be recorded is logged and skipped. */
    @Override
    public void service(Mail mail) {
        try {
            record(mail);
        } catch (RuntimeException e) {
            LOGGER.warn("Could not record the {} step of mail {}", type.configName(), mail.getName(), e);
        }
    }

    private void record(Mail mail) {
        Optional<String> reply = AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.REMOTE_REPLY, String.class)
            .or(() -> AttributeUtils.getValueAndCastFromMail(mail, DELIVERY_ERROR, String.class))
            .or(() -> Optional.ofNullable(mail.getErrorMessage()))
            .map(String::trim)
            .filter(message -> !message.isEmpty());
        Optional<String> host = AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.REMOTE_HOST, String.class).or(() -> remoteHost);
        TrackedMail.events(type, mail, host, reply).forEach(events::publish);
    }

    @Override
    public String getMailetInfo() {
        return "Records a step of the mail's life for tracking and webhooks";
    }
}
