package io.postino.server.pacing;

import java.time.Duration;

import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueName;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.reactivestreams.Publisher;

import io.postino.organisations.PostinoAttributes;
import io.postino.server.delivery.LastSmtpReply;

/**
 * The spool as the mailet container sends to it: a mail sent from a RemoteDelivery thread right
 * after a delivery attempt (the copy for {@code onSuccess}, a bounce) is stamped with the remote
 * host and reply of that attempt ({@code postino.remoteHost}, {@code postino.remoteReply}), for
 * tracking. Everything else is the spool itself.
 */
final class ReplyStampingQueue implements MailQueue {
    private final MailQueue delegate;

    ReplyStampingQueue(MailQueue delegate) {
        this.delegate = delegate;
    }

    private static void stamp(Mail mail) {
        LastSmtpReply.take().ifPresent(reply -> {
            if (reply.host() != null) {
                mail.setAttribute(new Attribute(PostinoAttributes.REMOTE_HOST, AttributeValue.of(reply.host())));
            }
            mail.setAttribute(new Attribute(PostinoAttributes.REMOTE_REPLY, AttributeValue.of(reply.text())));
        });
    }

    @Override
    public MailQueueName getName() {
        return delegate.getName();
    }

    @Override
    public void enQueue(Mail mail, Duration delay) throws MailQueueException {
        stamp(mail);
        delegate.enQueue(mail, delay);
    }

    @Override
    public void enQueue(Mail mail) throws MailQueueException {
        stamp(mail);
        delegate.enQueue(mail);
    }

    @Override
    public Publisher<Void> enqueueReactive(Mail mail) {
        stamp(mail);
        return delegate.enqueueReactive(mail);
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
