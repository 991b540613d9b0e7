package io.postino.server.pacing;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import org.apache.james.lifecycle.api.LifecycleUtil;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueName;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeUtils;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.events.DeliveryEvent;
import io.postino.events.DeliveryEvents;
import io.postino.events.TrackedMail;
import io.postino.organisations.PostinoAttributes;
import io.postino.organisations.Route;
import io.postino.server.delivery.LastSmtpReply;
import io.postino.server.metrics.PostinoMetrics;
import reactor.core.publisher.Mono;

/**
 * The spool as the mailet container sends to it, with two things added for tracking:
 * <ul>
 *   <li>the copy RemoteDelivery makes of a delivered mail for its {@code onSuccess} processor
 *   (state {@value #DELIVERED}) is recorded as {@code delivered}, with the remote host and reply,
 *   and not spooled: it would only be dropped, and spooling it could fail after the delivery;</li>
 *   <li>any other mail sent right after a delivery attempt (a bounce) carries the remote host and
 *   reply ({@code postino.remoteHost}, {@code postino.remoteReply}) and the recipients refused at
 *   RCPT TO ({@code postino.failedRecipients}); stale ones are removed.</li>
 * </ul>
 */
final class ReplyStampingQueue implements MailQueue {
    /** RemoteDelivery's {@code onSuccess} processor in mailetcontainer.xml. */
    static final String DELIVERED = "delivered";
    private static final Logger LOGGER = LoggerFactory.getLogger(ReplyStampingQueue.class);

    private final MailQueue delegate;
    private final DeliveryEvents events;
    private final PostinoMetrics metrics;
    private final Function<Mail, Optional<Route>> routes;

    /** @param routes the route of a mail, for the delivery latency */
    ReplyStampingQueue(MailQueue delegate, DeliveryEvents events, PostinoMetrics metrics, Function<Mail, Optional<Route>> routes) {
        this.delegate = delegate;
        this.events = events;
        this.metrics = metrics;
        this.routes = routes;
    }

    /** Received to delivered, once per recipient like the delivered events; not for Postino's own notifications. */
    private void observeLatency(Mail mail) {
        if (mail.getAttribute(PostinoAttributes.NOTIFICATION).isPresent()) {
            return;
        }
        AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.RECEIVED_AT, Long.class).ifPresent(receivedAt -> {
            Optional<String> route = routes.apply(mail).map(Route::name);
            Duration latency = Duration.ofMillis(System.currentTimeMillis() - receivedAt);
            mail.getRecipients().forEach(recipient -> metrics.delivered(route, latency));
        });
    }

    /** @return true when the mail was a delivered copy, recorded and not to be spooled */
    private boolean recordOrStamp(Mail mail) {
        try {
            Optional<LastSmtpReply.Reply> reply = LastSmtpReply.take();
            if (DELIVERED.equals(mail.getState())) {
                TrackedMail.events(DeliveryEvent.Type.DELIVERED, mail, reply.map(LastSmtpReply.Reply::host),
                    reply.map(LastSmtpReply.Reply::text)).forEach(events::publish);
                observeLatency(mail);
                LifecycleUtil.dispose(mail);
                return true;
            }
            mail.removeAttribute(PostinoAttributes.REMOTE_HOST);
            mail.removeAttribute(PostinoAttributes.REMOTE_REPLY);
            mail.removeAttribute(PostinoAttributes.FAILED_RECIPIENTS);
            reply.ifPresent(fresh -> {
                if (!fresh.failedRecipients().isEmpty()) {
                    Map<String, AttributeValue<?>> failed = new LinkedHashMap<>();
                    fresh.failedRecipients().forEach((address, text) -> failed.put(address, AttributeValue.of(text)));
                    mail.setAttribute(new Attribute(PostinoAttributes.FAILED_RECIPIENTS, AttributeValue.of(failed)));
                }
                if (fresh.host() != null) {
                    mail.setAttribute(new Attribute(PostinoAttributes.REMOTE_HOST, AttributeValue.of(fresh.host())));
                }
                mail.setAttribute(new Attribute(PostinoAttributes.REMOTE_REPLY, AttributeValue.of(fresh.text())));
            });
        } catch (RuntimeException e) {
            LOGGER.warn("Could not record the remote reply for mail {}", mail.getName(), e);
        }
        return false;
    }

    @Override
    public MailQueueName getName() {
        return delegate.getName();
    }

    @Override
    public void enQueue(Mail mail, Duration delay) throws MailQueueException {
        if (!recordOrStamp(mail)) {
            delegate.enQueue(mail, delay);
        }
    }

    @Override
    public void enQueue(Mail mail) throws MailQueueException {
        if (!recordOrStamp(mail)) {
            delegate.enQueue(mail);
        }
    }

    @Override
    public Publisher<Void> enqueueReactive(Mail mail) {
        return recordOrStamp(mail) ? Mono.empty() : delegate.enqueueReactive(mail);
    }

    @Override
    public Publisher<MailQueueItem> deQueue() {
        return delegate.deQueue();
    }

    @Override
    public void close() throws java.io.IOException {
        delegate.close();
    }
}
