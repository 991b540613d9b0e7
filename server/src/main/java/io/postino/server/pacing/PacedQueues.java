package io.postino.server.pacing;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;

import org.apache.mailet.AttributeUtils;
import org.apache.mailet.Mail;

import io.postino.events.DeliveryEvents;
import io.postino.organisations.Organisation;
import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.PostinoAttributes;
import io.postino.organisations.Route;
import io.postino.server.metrics.PostinoMetrics;
import io.postino.server.spool.ExpeditableQueue;

/**
 * The queue factory the mailet container and RemoteDelivery use: the same queues, except that the
 * spool and the outgoing queue are split per organisation and read in turn ({@link FairMailQueue}),
 * the outgoing one is paced per destination ({@link PacedMailQueue}) and what is sent to the spool
 * right after a delivery attempt carries the remote reply ({@link ReplyStampingQueue}). WebAdmin keeps the plain
 * queues, so browsing and flushing see every mail, waiting or not.
 */
public final class PacedQueues implements MailQueueFactory<MailQueue> {
    /**
     * Mails of one organisation being delivered at once, at most: RemoteDelivery delivers 20 at a
     * time (James' default pool on 2 cores); 16 leave room for the others.
     */
    static final int OUTGOING_LIMIT = 16;
    /** Mails of one organisation in the mailet container at once, at most, of its 8 threads. */
    static final int SPOOL_LIMIT = 6;

    private final MailQueueFactory<? extends MailQueue> delegate;
    private final MailQueueName paced;
    private final DestinationLanes lanes;
    private final DeliveryEvents events;
    private final Supplier<OrganisationsConfig> organisations;
    private final PostinoMetrics metrics;
    private final QueueHolds holds;
    private final HeldDestinations heldDestinations;
    private final ConcurrentHashMap<MailQueueName, MailQueue> decorated = new ConcurrentHashMap<>();

    /** @param organisations the organisations in force: their queues are read from the start, their routes taken */
    PacedQueues(MailQueueFactory<? extends MailQueue> delegate, MailQueueName paced, DestinationLanes lanes, DeliveryEvents events,
                Supplier<OrganisationsConfig> organisations, PostinoMetrics metrics, QueueHolds holds, HeldDestinations heldDestinations) {
        this.holds = holds;
        this.heldDestinations = heldDestinations;
        heldDestinations.onRelease(this::expediteReleased);
        this.delegate = delegate;
        this.paced = paced;
        this.lanes = lanes;
        this.events = events;
        this.organisations = organisations;
        this.metrics = metrics;
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
            return decorated.computeIfAbsent(name, any -> new PacedMailQueue(fair(queue, OUTGOING_LIMIT), lanes, events, this::routeOf, heldDestinations));
        }
        if (name.equals(SPOOL)) {
            return decorated.computeIfAbsent(name, any -> new ReplyStampingQueue(fair(queue, SPOOL_LIMIT), events, metrics, this::routeOf));
        }
        return queue;
    }

    private MailQueue fair(MailQueue queue, int limit) {
        Optional<Path> known = Optional.ofNullable(System.getProperty("postino.data.dir"))
            .map(directory -> Path.of(directory, "store", "organisation-queues-" + queue.getName().asString() + ".txt"));
        List<String> ids = organisations.get().organisations().stream().map(Organisation::id).collect(Collectors.toList());
        return new FairMailQueue(delegate, queue, ids, known, limit, holds);
    }

    /**
     * Makes the mail that went back to wait for a hold due at once, in {@code outgoing} and its
     * per-organisation queues; what is still held waits again.
     */
    private void expediteReleased() {
        for (MailQueueName name : delegate.listCreatedMailQueues()) {
            if (!name.equals(paced) && !name.asString().startsWith(paced.asString() + ".")) {
                continue;
            }
            delegate.getQueue(name).ifPresent(queue -> {
                if (queue instanceof ExpeditableQueue expeditable) {
                    expeditable.expedite(heldDestinations::stopWaiting);
                }
            });
        }
    }

    /** The route of the organisation that sent the mail, for the domain of its (first) recipient. */
    private Optional<Route> routeOf(Mail mail) {
        OrganisationsConfig config = organisations.get();
        Optional<String> domain = mail.getRecipients().stream().findFirst().map(recipient -> recipient.getDomain().asString());
        return AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.ORGANISATION, String.class)
            .flatMap(config::byId)
            .flatMap(organisation -> domain.flatMap(to -> config.routeFor(organisation, to)));
    }
}
