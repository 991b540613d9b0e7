package io.postino.server.pacing;

import java.time.Duration;
import java.time.Instant;

import org.apache.james.lifecycle.api.LifecycleUtil;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueName;
import org.apache.mailet.Mail;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The outgoing queue as RemoteDelivery sees it: a mail is handed over only when its destination
 * has a free connection and its delivery slot has come (see {@link DestinationLanes}). A mail
 * that must wait a little is held here, unacknowledged (a crash puts it back in the queue); one
 * that must wait longer goes back into the queue with a delay. Either way it stays queued: pacing
 * never bounces mail. The connection is given back when RemoteDelivery finishes with the mail.
 */
final class PacedMailQueue implements MailQueue {
    private static final Logger LOGGER = LoggerFactory.getLogger(PacedMailQueue.class);
    /** Longest wait spent holding a mail in memory; longer waits go back to the queue. */
    static final Duration HOLD = Duration.ofSeconds(5);
    /** At most this many mails are being admitted (held) at once. */
    private static final int ADMITTING = 64;

    private final MailQueue delegate;
    private final DestinationLanes lanes;

    PacedMailQueue(MailQueue delegate, DestinationLanes lanes) {
        this.delegate = delegate;
        this.lanes = lanes;
    }

    @Override
    public Publisher<MailQueueItem> deQueue() {
        return Flux.from(delegate.deQueue()).flatMap(item -> admit(item, Duration.ZERO), ADMITTING);
    }

    private Mono<MailQueueItem> admit(MailQueueItem item, Duration heldSoFar) {
        return Mono.defer(() -> {
            DestinationLanes.Admission admission = lanes.admit(item.getMail(), Instant.now());
            if (admission.admitted()) {
                return Mono.just(new PacedItem(item, admission));
            }
            Duration held = heldSoFar.plus(admission.delay());
            if (held.compareTo(HOLD) <= 0) {
                return Mono.delay(admission.delay()).then(admit(item, held));
            }
            return requeue(item, admission.delay());
        });
    }

    private Mono<MailQueueItem> requeue(MailQueueItem item, Duration wait) {
        return Mono.<MailQueueItem>fromCallable(() -> {
            Mail mail = item.getMail();
            try {
                delegate.enQueue(mail, wait);
                item.done(MailQueueItem.CompletionStatus.SUCCESS);
            } catch (MailQueueException e) {
                LOGGER.warn("Could not put {} back in the queue to wait for its destination; it will be retried", mail.getName(), e);
                item.done(MailQueueItem.CompletionStatus.RETRY);
            } finally {
                LifecycleUtil.dispose(mail);
            }
            return null;
        }).subscribeOn(Schedulers.boundedElastic());
    }

    /** Gives the destinations' connections back when RemoteDelivery is done with the mail. */
    private static final class PacedItem implements MailQueueItem {
        private final MailQueueItem item;
        private final DestinationLanes.Admission admission;

        private PacedItem(MailQueueItem item, DestinationLanes.Admission admission) {
            this.item = item;
            this.admission = admission;
        }

        @Override
        public Mail getMail() {
            return item.getMail();
        }

        @Override
        public void done(CompletionStatus status) throws MailQueueException {
            try {
                item.done(status);
            } finally {
                admission.release();
            }
        }
    }

    @Override
    public MailQueueName getName() {
        return delegate.getName();
    }

    @Override
    public void enQueue(Mail mail, Duration delay) throws MailQueueException {
        delegate.enQueue(mail, delay);
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
        delegate.close();
    }
}
