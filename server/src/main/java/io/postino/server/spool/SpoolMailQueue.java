package io.postino.server.spool;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

import javax.mail.MessagingException;

import org.apache.james.queue.api.MailQueueName;
import org.apache.james.queue.api.ManageableMailQueue;
import org.apache.mailet.AttributeUtils;
import org.apache.mailet.Mail;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.organisations.PostinoAttributes;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * One queue of the {@link Spool}: its items in memory in due order, handed to the subscribers of
 * {@link #deQueue} as they ask for them (each subscriber gets what it requested, no more) once
 * due. A mail handed out stays in the spool until its item is {@code done}: SUCCESS deletes it,
 * RETRY puts it back (at once the first time, then after a growing wait), REJECT puts it back
 * after a minute: the spool never drops a mail. After a crash, every mail not done is handed
 * out again.
 */
final class SpoolMailQueue implements ManageableMailQueue, ExpeditableQueue {
    private static final Logger LOGGER = LoggerFactory.getLogger(SpoolMailQueue.class);
    private static final Duration REJECT_RETRY = Duration.ofMinutes(1);

    private record Slot(long due, long id) implements Comparable<Slot> {
        @Override
        public int compareTo(Slot other) {
            int byDue = Long.compare(due, other.due);
            return byDue != 0 ? byDue : Long.compare(id, other.id);
        }
    }

    private static final class Subscriber {
        private final FluxSink<MailQueueItem> sink;
        private final AtomicLong demand = new AtomicLong();

        private Subscriber(FluxSink<MailQueueItem> sink) {
            this.sink = sink;
        }
    }

    private final MailQueueName name;
    private final Spool spool;
    private final Clock clock;
    private final ScheduledExecutorService timers;
    private final NavigableSet<Slot> waiting = new TreeSet<>();
    private final Map<Long, SpoolItem> items = new ConcurrentHashMap<>();
    private final Map<Long, Integer> retries = new ConcurrentHashMap<>();
    /**
     * Since when each item's mail has waited (epoch ms), for the age of the oldest: when it was
     * received ({@code postino.receivedAt}), else when it entered this queue. In memory only.
     */
    private final Map<Long, Long> since = new ConcurrentHashMap<>();
    private final List<Subscriber> subscribers = new CopyOnWriteArrayList<>();
    private final AtomicBoolean draining = new AtomicBoolean();
    private final AtomicBoolean drainAgain = new AtomicBoolean();
    private int nextSubscriber;
    private ScheduledFuture<?> wakeUp;
    private long wakeUpAt = Long.MAX_VALUE;

    SpoolMailQueue(String name, Spool spool, Clock clock, ScheduledExecutorService timers) {
        this.name = MailQueueName.of(name);
        this.spool = spool;
        this.clock = clock;
        this.timers = timers;
    }

    @Override
    public MailQueueName getName() {
        return name;
    }

    /** An item found in the store at start-up. */
    void restore(SpoolItem item) {
        items.put(item.id(), item);
        // The time it entered is not on disk: a mail due already waits since at least then.
        since.put(item.id(), Math.min(item.due(), clock.millis()));
        synchronized (this) {
            waiting.add(new Slot(item.due(), item.id()));
        }
    }

    @Override
    public void enQueue(Mail mail, Duration delay) throws MailQueueException {
        add(mail, delay);
    }

    /** Spools {@code mail}; the spool may put it in another queue (a mail parked after too many failures). */
    SpoolItem add(Mail mail, Duration delay) throws MailQueueException {
        SpoolItem item;
        try {
            item = spool.add(name.asString(), mail, delay == null || delay.isNegative() ? Duration.ZERO : delay);
        } catch (SpoolStore.SpoolUnavailable e) {
            throw e.diskFull() ? new InsufficientStorage(e.getMessage(), e) : new MailQueueException(e.getMessage(), e);
        } catch (MessagingException e) {
            throw new MailQueueException("Cannot spool " + mail.getName() + ": " + e.getMessage(), e);
        }
        long now = clock.millis();
        long waitingSince = AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.RECEIVED_AT, Long.class)
            .map(receivedAt -> Math.min(receivedAt, now)).orElse(now);
        (item.queue().equals(name.asString()) ? this : spool.queue(item.queue())).accept(item, waitingSince);
        return item;
    }

    private void accept(SpoolItem item, long waitingSince) {
        items.put(item.id(), item);
        since.put(item.id(), waitingSince);
        synchronized (this) {
            waiting.add(new Slot(item.due(), item.id()));
        }
        drain();
    }

    @Override
    public void enQueue(Mail mail) throws MailQueueException {
        enQueue(mail, Duration.ZERO);
    }

    @Override
    public Publisher<Void> enqueueReactive(Mail mail) {
        return Mono.<Void>fromRunnable(() -> {
            try {
                enQueue(mail);
            } catch (MailQueueException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        }).subscribeOn(Schedulers.boundedElastic());
    }

    @Override
    public Publisher<MailQueueItem> deQueue() {
        return Flux.create(sink -> {
            Subscriber subscriber = new Subscriber(sink);
            subscribers.add(subscriber);
            sink.onRequest(count -> {
                subscriber.demand.getAndUpdate(current -> current + count < 0 ? Long.MAX_VALUE : current + count);
                drain();
            });
            sink.onDispose(() -> subscribers.remove(subscriber));
        }, FluxSink.OverflowStrategy.BUFFER);
    }

    /** Hands due items to subscribers that asked for them; never on two threads at once. */
    void drain() {
        drainAgain.set(true);
        if (!draining.compareAndSet(false, true)) {
            return;
        }
        try {
            while (drainAgain.getAndSet(false)) {
                handOut();
            }
        } finally {
            draining.set(false);
        }
        if (drainAgain.get()) {
            timers.execute(this::drain);
        }
    }

    private void handOut() {
        while (true) {
            Subscriber subscriber;
            SpoolItem item;
            synchronized (this) {
                subscriber = withDemand();
                if (subscriber == null || waiting.isEmpty()) {
                    return;
                }
                Slot first = waiting.first();
                long now = clock.millis();
                if (first.due() > now) {
                    scheduleWakeUp(first.due());
                    return;
                }
                waiting.pollFirst();
                item = items.get(first.id());
                if (item == null) {
                    continue;
                }
                subscriber.demand.decrementAndGet();
            }
            MailQueueItem queued;
            try {
                queued = new Item(item, item.toMail(spool.message(item)));
            } catch (MessagingException | RuntimeException e) {
                LOGGER.error("Spooled mail {} of {} cannot be read back ({}); it is tried again in a minute", item.name(), name.asString(), e.toString());
                subscriber.demand.incrementAndGet();
                putBack(item, REJECT_RETRY);
                continue;
            }
            subscriber.sink.next(queued);
        }
    }

    private Subscriber withDemand() {
        int count = subscribers.size();
        for (int i = 0; i < count; i++) {
            Subscriber subscriber = subscribers.get((nextSubscriber + i) % count);
            if (subscriber.demand.get() > 0 && !subscriber.sink.isCancelled()) {
                nextSubscriber = (nextSubscriber + i + 1) % count;
                return subscriber;
            }
        }
        return null;
    }

    private void scheduleWakeUp(long due) {
        if (wakeUp != null && !wakeUp.isDone() && wakeUpAt <= due) {
            return;
        }
        if (wakeUp != null) {
            wakeUp.cancel(false);
        }
        wakeUpAt = due;
        wakeUp = timers.schedule(this::drain, Math.max(1, due - clock.millis()), TimeUnit.MILLISECONDS);
    }

    private void putBack(SpoolItem item, Duration wait) {
        SpoolItem later = item.withQueueAndDue(item.queue(), clock.millis() + wait.toMillis());
        items.put(later.id(), later);
        if (!wait.isZero()) {
            spool.rewrite(later);
        }
        synchronized (this) {
            waiting.add(new Slot(later.due(), later.id()));
        }
        drain();
    }

    /** A mail handed out; its item stays in the spool until done. */
    private final class Item implements MailQueueItem {
        private final SpoolItem item;
        private final Mail mail;
        private final AtomicBoolean finished = new AtomicBoolean();

        private Item(SpoolItem item, Mail mail) {
            this.item = item;
            this.mail = mail;
        }

        @Override
        public Mail getMail() {
            return mail;
        }

        @Override
        public void done(CompletionStatus status) {
            if (!finished.compareAndSet(false, true)) {
                return;
            }
            switch (status) {
                case SUCCESS:
                    items.remove(item.id());
                    since.remove(item.id());
                    retries.remove(item.id());
                    spool.remove(item);
                    break;
                case RETRY:
                    int retry = retries.merge(item.id(), 1, Integer::sum);
                    putBack(item, retry == 1 ? Duration.ZERO : Spool.backoff(retry - 1).dividedBy(30));
                    break;
                default:
                    LOGGER.warn("{} of {} was rejected by its consumer; it stays spooled and is tried again in a minute", item.name(), name.asString());
                    putBack(item, REJECT_RETRY);
            }
        }
    }

    @Override
    public long getSize() {
        return items.size();
    }

    @Override
    public long flush() {
        return expedite(name -> true);
    }

    @Override
    public long expedite(Predicate<String> which) {
        long count = 0;
        synchronized (this) {
            long now = clock.millis();
            List<Slot> delayed = new ArrayList<>(waiting.tailSet(new Slot(now, Long.MAX_VALUE), false));
            for (Slot slot : delayed) {
                SpoolItem item = items.get(slot.id());
                if (item != null && !which.test(item.name())) {
                    continue;
                }
                waiting.remove(slot);
                if (item != null) {
                    SpoolItem due = item.withQueueAndDue(item.queue(), now);
                    items.put(due.id(), due);
                    spool.rewrite(due);
                    waiting.add(new Slot(now, due.id()));
                    count++;
                }
            }
        }
        drain();
        return count;
    }

    /**
     * Every waiting mail, and what the spool's removal listeners hold back of this queue (the mail
     * the reader of a held queue keeps in hand, {@link Spool#onRemoval}).
     */
    @Override
    public long clear() {
        return removeWhere(item -> true) + spool.removedElsewhere(name.asString(), mail -> true);
    }

    /** The matching waiting mails, and the matching mail the spool's removal listeners hold back of this queue. */
    @Override
    public long remove(Type type, String value) {
        switch (type) {
            case Name:
                return removeWhere(item -> item.name().equals(value)) + spool.removedElsewhere(name.asString(), mail -> mail.getName().equals(value));
            case Sender:
                return removeWhere(item -> item.sender().equals(value))
                    + spool.removedElsewhere(name.asString(), mail -> mail.getMaybeSender().asString("").equals(value));
            default:
                return removeWhere(item -> item.recipients().contains(value))
                    + spool.removedElsewhere(name.asString(), mail -> mail.getRecipients().stream().anyMatch(r -> r.asString().equals(value)));
        }
    }

    /** Removes the matching mails that are waiting (not those being processed). */
    long removeWhere(Predicate<SpoolItem> which) {
        List<SpoolItem> removed = new ArrayList<>();
        synchronized (this) {
            for (Iterator<Slot> slots = waiting.iterator(); slots.hasNext(); ) {
                Slot slot = slots.next();
                SpoolItem item = items.get(slot.id());
                if (item != null && which.test(item)) {
                    slots.remove();
                    items.remove(slot.id());
                    since.remove(slot.id());
                    removed.add(item);
                }
            }
        }
        removed.forEach(spool::remove);
        return removed.size();
    }

    @Override
    public MailQueueIterator browse() {
        List<SpoolItem> snapshot = new ArrayList<>(items.values());
        snapshot.sort((a, b) -> Long.compare(a.due(), b.due()));
        Iterator<SpoolItem> iterator = snapshot.iterator();
        return new MailQueueIterator() {
            @Override
            public boolean hasNext() {
                return iterator.hasNext();
            }

            @Override
            public MailQueueItemView next() {
                SpoolItem item = iterator.next();
                try {
                    return new DefaultMailQueueItemView(item.toMail(spool.message(item)),
                        Optional.of(ZonedDateTime.ofInstant(Instant.ofEpochMilli(item.due()), ZoneOffset.UTC)));
                } catch (MessagingException e) {
                    throw new IllegalStateException("Cannot read spooled mail " + item.name(), e);
                }
            }

            @Override
            public void close() {
            }
        };
    }

    /** Since when the mail of this queue that has waited longest has waited (epoch ms); empty when the queue is. */
    Optional<Long> oldestSince() {
        return since.values().stream().min(Long::compare);
    }

    /** The mails of this queue waiting and being processed, oldest due first (WebAdmin, metrics). */
    long oldestDue() {
        return items.values().stream().mapToLong(SpoolItem::due).min().orElse(Long.MAX_VALUE);
    }

    void closeSubscribers() {
        subscribers.forEach(subscriber -> subscriber.sink.complete());
    }

    @Override
    public void close() {
    }
}
