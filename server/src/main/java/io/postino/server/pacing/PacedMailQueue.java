package io.postino.server.pacing;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

import javax.mail.MessagingException;

import org.apache.james.lifecycle.api.LifecycleUtil;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueName;
import org.apache.mailet.Mail;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.events.DeliveryEvent;
import io.postino.events.DeliveryEvents;
import io.postino.events.TrackedMail;
import io.postino.organisations.PostinoAttributes;
import io.postino.organisations.Route;
import io.postino.server.delivery.CurrentDelivery;
import io.postino.server.delivery.LastSmtpReply;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * The outgoing queue as RemoteDelivery sees it: a mail is handed over only when its destination
 * has a free connection and its delivery slot has come (see {@link DestinationLanes}). A mail
 * that must wait a little is held here, unacknowledged (a crash puts it back in the queue); one
 * that must wait longer goes back into the queue with a delay, as does mail to a held destination
 * ({@link HeldDestinations}: checked again after {@link DestinationLanes#HELD_RECHECK}, due at once
 * on release). Either way it stays queued: pacing never bounces mail. The connections are given back when RemoteDelivery finishes with the mail.
 */
final class PacedMailQueue implements MailQueue {
    private static final Logger LOGGER = LoggerFactory.getLogger(PacedMailQueue.class);
    /** At most this many mails are being admitted (held) at once. */
    private static final int ADMITTING = 64;

    private final MailQueue delegate;
    private final DestinationLanes lanes;
    /** The delegate's dequeue blocks (JMS receive): it runs here, never on Reactor's shared threads. */
    private final Scheduler dequeueThread;
    private final DeliveryEvents events;
    private final Function<Mail, Optional<Route>> routes;
    private final HeldDestinations holds;

    /**
     * @param routes the route of a mail, set for RemoteDelivery's transport while it delivers the mail
     * @param holds  told of the mails put back to wait for a held destination
     */
    PacedMailQueue(MailQueue delegate, DestinationLanes lanes, DeliveryEvents events, Function<Mail, Optional<Route>> routes,
                   HeldDestinations holds) {
        this.delegate = delegate;
        this.holds = holds;
        this.lanes = lanes;
        this.events = events;
        this.routes = routes;
        this.dequeueThread = Schedulers.newSingle("postino-" + delegate.getName().asString() + "-dequeue", true);
    }

    @Override
    public Publisher<MailQueueItem> deQueue() {
        return Flux.from(delegate.deQueue())
            .subscribeOn(dequeueThread, true)
            .flatMap(item -> admit(item, null), ADMITTING);
    }

    private Mono<MailQueueItem> admit(MailQueueItem item, DestinationLanes.Admission previous) {
        return Mono.defer(() -> {
            if (previous != null) {
                previous.stopWaiting();
            }
            holds.stopWaiting(item.getMail().getName());
            DestinationLanes.Admission admission;
            try {
                admission = lanes.admit(item.getMail(), Instant.now());
            } catch (RuntimeException e) {
                LOGGER.error("Pacing failed for {}; it stays in the queue and is retried", item.getMail().getName(), e);
                return retryLater(item);
            }
            if (admission.admitted()) {
                return Mono.just(new PacedItem(item, admission, routes));
            }
            if (admission.inMemory()) {
                return Mono.delay(admission.delay()).then(admit(item, admission));
            }
            return requeue(item, admission.delay(), admission.held());
        });
    }

    /**
     * Puts the mail back through the delegate, not {@link #enQueue(Mail, Duration)}: waiting for
     * pacing or a hold is no deferral, and RemoteDelivery, which counts its attempts, never saw it.
     */
    private Mono<MailQueueItem> requeue(MailQueueItem item, Duration delay, boolean held) {
        return Mono.<MailQueueItem>fromCallable(() -> {
            Mail mail = item.getMail();
            try {
                if (held) {
                    holds.waiting(mail.getName());
                }
                // A crash between these two lines delivers the mail twice, never zero times.
                delegate.enQueue(mail, delay);
                item.done(MailQueueItem.CompletionStatus.SUCCESS);
            } catch (Exception e) {
                LOGGER.warn("Could not put {} back in the queue to wait for its destination; it will be retried", mail.getName(), e);
                item.done(MailQueueItem.CompletionStatus.RETRY);
            } finally {
                LifecycleUtil.dispose(mail);
            }
            return null;
        }).subscribeOn(Schedulers.boundedElastic());
    }

    private Mono<MailQueueItem> retryLater(MailQueueItem item) {
        return Mono.<MailQueueItem>fromCallable(() -> {
            item.done(MailQueueItem.CompletionStatus.RETRY);
            return null;
        }).subscribeOn(Schedulers.boundedElastic()).onErrorResume(e -> Mono.empty());
    }

    /**
     * Gives the destinations' connections back, once, when RemoteDelivery is done with the mail.
     * RemoteDelivery takes the mail, delivers it and marks it done on one thread: the mail's
     * route is set for that thread ({@link CurrentDelivery}) in between.
     */
    private static final class PacedItem implements MailQueueItem {
        private final MailQueueItem item;
        private final DestinationLanes.Admission admission;
        private final Function<Mail, Optional<Route>> routes;
        private final AtomicBoolean released = new AtomicBoolean();

        private PacedItem(MailQueueItem item, DestinationLanes.Admission admission, Function<Mail, Optional<Route>> routes) {
            this.item = item;
            this.admission = admission;
            this.routes = routes;
        }

        @Override
        public Mail getMail() {
            Mail mail = item.getMail();
            try {
                CurrentDelivery.set(routes.apply(mail));
            } catch (RuntimeException e) {
                LOGGER.error("Cannot find the route of {}; it takes the default route", mail.getName(), e);
                CurrentDelivery.clear();
            }
            CurrentDelivery.smtpUtf8(mail.getAttribute(PostinoAttributes.SMTPUTF8).isPresent());
            return mail;
        }

        @Override
        public void done(CompletionStatus status) throws MailQueueException {
            CurrentDelivery.clear();
            try {
                item.done(status);
            } finally {
                if (released.compareAndSet(false, true)) {
                    admission.release();
                }
            }
        }
    }

    @Override
    public MailQueueName getName() {
        return delegate.getName();
    }

    /** RemoteDelivery puts a mail back with a delay after a temporary failure: a deferral. */
    @Override
    public void enQueue(Mail mail, Duration delay) throws MailQueueException {
        delegate.enQueue(mail, delay);
        try {
            Optional<LastSmtpReply.Reply> remote = remoteReply(mail);
            Optional<String> reply = Optional.of(remote.map(LastSmtpReply.Reply::text).filter(text -> !text.isBlank())
                .orElse("temporary failure") + "; next attempt in " + delay.toSeconds() + " s");
            TrackedMail.events(DeliveryEvent.Type.DEFERRED, mail, remote.map(LastSmtpReply.Reply::host), reply).forEach(events::publish);
        } catch (RuntimeException e) {
            LOGGER.warn("Could not record the deferral of mail {}", mail.getName(), e);
        }
    }

    /** The reply to this very message only: a thread's last reply may be another mail's. */
    private static Optional<LastSmtpReply.Reply> remoteReply(Mail mail) {
        try {
            return LastSmtpReply.takeFor(mail.getMessage());
        } catch (MessagingException e) {
            return Optional.empty();
        }
    }

    @Override
    public void enQueue(Mail mail) throws MailQueueException {
        delegate.enQueue(mail);
    }

    @Override
    public Publisher<Void> enqueueReactive(Mail mail) {
        return delegate.enqueueReactive(mail);
    }

    @Override
    public void close() throws java.io.IOException {
        dequeueThread.dispose();
        delegate.close();
    }
}
