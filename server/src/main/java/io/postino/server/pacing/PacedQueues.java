package io.postino.server.pacing;

import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;

import io.postino.events.DeliveryEvents;

/**
 * The queue factory the mailet container and RemoteDelivery use: the same queues, except that the
 * outgoing one is paced per destination ({@link PacedMailQueue}) and what is sent to the spool
 * right after a delivery attempt carries the remote reply ({@link ReplyStampingQueue}). WebAdmin keeps the plain
 * queues, so browsing and flushing see every mail, waiting or not.
 */
public final class PacedQueues implements MailQueueFactory<MailQueue> {
    private final MailQueueFactory<? extends MailQueue> delegate;
    private final MailQueueName paced;
    private final DestinationLanes lanes;
    private final DeliveryEvents events;
    private final ConcurrentHashMap<MailQueue, PacedMailQueue> decorated = new ConcurrentHashMap<>();

    PacedQueues(MailQueueFactory<? extends MailQueue> delegate, MailQueueName paced, DestinationLanes lanes, DeliveryEvents events) {
        this.delegate = delegate;
        this.paced = paced;
        this.lanes = lanes;
        this.events = events;
    }

    @Override
    public Optional<MailQueue> getQueue(MailQueueName name, PrefetchCount count) {
        return delegate.getQueue(name, count).map(queue -> decorate(name, queue));
    }

    @Override
    public MailQueue createQueue(MailQueueName name, PrefetchCount count) {
        return decorate(name, delegate.createQueue(name, count));
    }

    @Override
    public Set<MailQueueName> listCreatedMailQueues() {
        return delegate.listCreatedMailQueues();
    }

    private MailQueue decorate(MailQueueName name, MailQueue queue) {
        if (name.equals(paced)) {
            return decorated.computeIfAbsent(queue, any -> new PacedMailQueue(queue, lanes, events));
        }
        if (name.equals(SPOOL)) {
            return new ReplyStampingQueue(queue, events);
        }
        return queue;
    }
}
