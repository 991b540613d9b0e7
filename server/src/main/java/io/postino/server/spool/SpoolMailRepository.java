package io.postino.server.spool;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.commons.configuration2.HierarchicalConfiguration;
import org.apache.commons.configuration2.tree.ImmutableNode;
import org.apache.james.lifecycle.api.Configurable;
import org.apache.james.mailrepository.api.MailKey;
import org.apache.james.mailrepository.api.MailRepository;
import org.apache.james.mailrepository.api.MailRepositoryUrl;
import org.apache.mailet.Mail;

/**
 * A mail repository (the error repository, {@code spool://var/mail/error/}) kept in the spool:
 * as durable as the queues, no limit on the length of the error message it keeps (the JPA one
 * refused messages with a reason over 200 characters, and lost them), and writable again as soon
 * as the disk is.
 */
public class SpoolMailRepository implements MailRepository, Configurable {
    private final Spool spool;
    private SpoolMailQueue items;

    @Inject
    public SpoolMailRepository(Spool spool) {
        this.spool = spool;
    }

    @Override
    public void configure(HierarchicalConfiguration<ImmutableNode> configuration) {
        String url = configuration.getString("[@destinationURL]", "spool://var/mail/error/");
        items = spool.queue(SpoolMailQueueFactory.REPOSITORY_PREFIX + MailRepositoryUrl.from(url).getPath().asString());
    }

    private SpoolMailQueue items() {
        if (items == null) {
            items = spool.queue(SpoolMailQueueFactory.REPOSITORY_PREFIX + "var/mail/error/");
        }
        return items;
    }

    @Override
    public long size() {
        return items().getSize();
    }

    @Override
    public MailKey store(Mail mail) throws MessagingException {
        MailKey key = MailKey.forMail(mail);
        // The new copy first, then the old one: if writing fails the old copy is still there, and
        // a body both refer to is never released in between.
        SpoolItem stored = items().add(mail, Duration.ZERO);
        items().removeWhere(item -> item.name().equals(key.asString()) && item.id() != stored.id());
        return key;
    }

    @Override
    public Iterator<MailKey> list() {
        List<MailKey> keys = new ArrayList<>();
        items().browse().forEachRemaining(view -> keys.add(new MailKey(view.getMail().getName())));
        return keys.iterator();
    }

    @Override
    public Mail retrieve(MailKey key) {
        Iterator<org.apache.james.queue.api.ManageableMailQueue.MailQueueItemView> views = items().browse();
        while (views.hasNext()) {
            Mail mail = views.next().getMail();
            if (mail.getName().equals(key.asString())) {
                return mail;
            }
        }
        return null;
    }

    @Override
    public void remove(MailKey key) {
        items().remove(org.apache.james.queue.api.ManageableMailQueue.Type.Name, key.asString());
    }

    @Override
    public void remove(Collection<MailKey> keys) {
        keys.forEach(this::remove);
    }

    @Override
    public void removeAll() {
        items().clear();
    }
}
