package io.postino.server.spool;

import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import javax.inject.Inject;

import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.james.queue.api.ManageableMailQueue;

/** The spool's queues under James' queue contract: every queue name is a queue of one {@link Spool}. */
public class SpoolMailQueueFactory implements MailQueueFactory<ManageableMailQueue> {
    /** Items of mail repositories live in the spool too, under these queue names, and are never handed out. */
    static final String REPOSITORY_PREFIX = "repository:";

    private final Spool spool;

    @Inject
    public SpoolMailQueueFactory(Spool spool) {
        this.spool = spool;
    }

    @Override
    public Optional<ManageableMailQueue> getQueue(MailQueueName name, PrefetchCount count) {
        return spool.queueNames().contains(name.asString()) ? Optional.of(spool.queue(name.asString())) : Optional.empty();
    }

    @Override
    public ManageableMailQueue createQueue(MailQueueName name, PrefetchCount count) {
        if (name.asString().startsWith(REPOSITORY_PREFIX)) {
            throw new IllegalArgumentException("Queue names may not start with " + REPOSITORY_PREFIX);
        }
        return spool.queue(name.asString());
    }

    @Override
    public Set<MailQueueName> listCreatedMailQueues() {
        return spool.queueNames().stream()
            .filter(name -> !name.startsWith(REPOSITORY_PREFIX))
            .map(MailQueueName::of)
            .collect(Collectors.toSet());
    }
}
