package io.postino.server.pacing;

import java.nio.file.Path;
import java.util.Collection;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;

import io.postino.events.DeliveryEvents;

/**
 * The queue factory the mailet container and RemoteDelivery use: the same queues, except that the
 * spool and the outgoing queue are split per organisation and read in turn ({@link FairMailQueue}),
 * the outgoing one is paced per destination ({@link PacedMailQueue}) and what is sent to the spool
 * right after a delivery attempt carries the remote reply ({@link ReplyStampingQueue}). WebAdmin keeps the plain
 * queues, so browsing and flushing see every mail, waiting or not.
 */
public final class PacedQueues implements MailQueueFactory<MailQueue> {
    private final MailQueueFactory<? extends MailQueue> delegate;
    private final MailQueueName paced;
    private final DestinationLanes lanes;
    private final DeliveryEvents events;
    private final Supplier<Collection<String>> organisations;
    private final ConcurrentHashMap<MailQueueName, MailQueue> decorated = new ConcurrentHashMap<>();

    /** @param organisations the ids of the organisations, whose queues are read from the start */
    PacedQueues(MailQueueFactory<? extends MailQueue> delegate, MailQueueName paced, DestinationLanes lanes, DeliveryEvents events,
                Supplier<Collection<String>> organisations) {
        this.delegate = delegate;
        this.paced = paced;
        this.lanes = lanes;
        this.events = events;
        this.organisations = organisations;
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
            return decorated.computeIfAbsent(name, any -> new PacedMailQueue(fair(queue), lanes, events));
        }
        if (name.equals(SPOOL)) {
            return decorated.computeIfAbsent(name, any -> new ReplyStampingQueue(fair(queue), events));
        }
        return queue;
    }

    private MailQueue fair(MailQueue queue) {
        Optional<Path> known = Optional.ofNullable(System.getProperty("postino.data.dir"))
            .map(directory -> Path.of(directory, "store", "organisation-queues-" + queue.getName().asString() + ".txt"));
        return new FairMailQueue(delegate, queue, organisations.get(), known);
    }
}
