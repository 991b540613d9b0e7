package io.postino.server.pacing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import java.util.regex.Pattern;

import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.mailet.AttributeUtils;
import org.apache.mailet.Mail;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.organisations.PostinoAttributes;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * One durable queue per organisation behind one queue name, read in turn: a mail of organisation
 * B waits for at most one mail of each other organisation, however many A has queued. Mail of
 * organisation {@code acme} (attribute {@code postino.organisation}) goes to the queue
 * {@code <name>.acme}; mail without an organisation (inbound mail) to {@code <name>} itself.
 *
 * <p>Each queue is read by its own thread (James' JMS queue blocks while it waits), holding at
 * most one received, unacknowledged mail. A queue whose thread holds a mail joins the end of a
 * line; each mail asked for is taken from the queue at the head of the line, whose thread then
 * reads its next mail and rejoins the end: round robin between the queues that have mail. A
 * queue with {@code limit} mails handed out and not yet done reads no more until one is done, so
 * that one organisation's burst cannot fill the places of the consumer (RemoteDelivery's
 * threads) behind which the others would wait.
 * (Reactor's merge is not fair: a source that always has a value wins the race.) A mail leaves its queue only when it is done, so a crash loses nothing. The
 * names of the queues created are kept in a file so that after a restart the queues of
 * organisations no longer in organisations.xml are still read until empty.</p>
 */
final class FairMailQueue implements MailQueue {
    private static final Logger LOGGER = LoggerFactory.getLogger(FairMailQueue.class);
    private static final Pattern ORGANISATION_ID = Pattern.compile("[a-z0-9][a-z0-9_\\-]{0,62}");

    private final MailQueueFactory<? extends MailQueue> factory;
    private final MailQueue shared;
    private final MailQueueName name;
    private final Optional<Path> knownQueues;
    private final ConcurrentHashMap<String, MailQueue> lanes = new ConcurrentHashMap<>();
    private final List<Reader> readers = new ArrayList<>();
    /** Queues whose reader holds a mail, in the order they got it: served from the head. */
    private final ConcurrentLinkedQueue<Reader> ready = new ConcurrentLinkedQueue<>();
    private final AtomicInteger draining = new AtomicInteger();
    private final AtomicLong demand = new AtomicLong();
    private final Flux<MailQueueItem> merged;
    private final int limit;
    private final QueueHolds holds;
    /** Queues whose reader holds a mail but which an operator has put on hold. */
    private final ConcurrentLinkedQueue<Reader> parked = new ConcurrentLinkedQueue<>();
    private volatile FluxSink<MailQueueItem> consumer;

    /**
     * @param organisations ids whose queues are read from the start (those of organisations.xml)
     * @param knownQueues the file listing the organisations that have had a queue, if any
     */
    FairMailQueue(MailQueueFactory<? extends MailQueue> factory, MailQueue shared, Collection<String> organisations,
                  Optional<Path> knownQueues) {
        this(factory, shared, organisations, knownQueues, Integer.MAX_VALUE);
    }

    /**
     * @param limit the most mails of one queue handed out and not yet done: a burst of one
     *              organisation then holds at most this many of the consumer's places
     */
    FairMailQueue(MailQueueFactory<? extends MailQueue> factory, MailQueue shared, Collection<String> organisations,
                  Optional<Path> knownQueues, int limit) {
        this(factory, shared, organisations, knownQueues, limit, QueueHolds.inMemory());
    }

    /** @param holds the queues on hold: none of their mail is handed out until released */
    FairMailQueue(MailQueueFactory<? extends MailQueue> factory, MailQueue shared, Collection<String> organisations,
                  Optional<Path> knownQueues, int limit, QueueHolds holds) {
        this.limit = limit;
        this.holds = holds;
        holds.onRelease(this::unpark);
        holds.onDiscard(this::discardKept);
        this.factory = factory;
        this.shared = shared;
        this.name = shared.getName();
        this.knownQueues = knownQueues;
        this.merged = Flux.create(this::subscribed);
        addReader(shared);
        known().forEach(this::lane);
        organisations.forEach(this::lane);
    }

    /**
     * Reads one queue on a thread of its own, one mail at a time, and never has more than
     * {@link #limit} of its mails handed out and not yet done.
     */
    private final class Reader extends BaseSubscriber<MailQueueItem> {
        private final MailQueue queue;
        private final Scheduler thread;
        private final AtomicInteger handedOut;
        private volatile MailQueueItem held;
        private boolean waitingForDone;

        private Reader(MailQueue queue, Scheduler thread, AtomicInteger handedOut) {
            this.queue = queue;
            this.thread = thread;
            this.handedOut = handedOut;
        }

        private void start() {
            Flux.from(queue.deQueue()).subscribeOn(thread, true).subscribe(this);
        }

        @Override
        protected void hookOnSubscribe(Subscription subscription) {
            request(1);
        }

        @Override
        protected void hookOnNext(MailQueueItem item) {
            held = item;
            ready.add(this);
            drain();
        }

        /** James' JMS dequeue fails on a broker error: the same thread reads the queue again a second later. */
        @Override
        protected void hookOnError(Throwable error) {
            LOGGER.error("Reading {} failed; reading it again in 1 s", queue.getName().asString(), error);
            thread.schedule(() -> {
                if (consumer != null && !consumer.isCancelled()) {
                    Reader again = new Reader(queue, thread, handedOut);
                    synchronized (FairMailQueue.this) {
                        readers.remove(this);
                        readers.add(again);
                    }
                    again.start();
                }
            }, 1, java.util.concurrent.TimeUnit.SECONDS);
        }

        private MailQueueItem take() {
            MailQueueItem item = held;
            held = null;
            return item;
        }

        /** After handing a mail out: read the next one, unless the limit is reached. */
        private synchronized void handedOne() {
            if (handedOut.incrementAndGet() < limit) {
                request(1);
            } else {
                waitingForDone = true;
            }
        }

        private synchronized void doneWithOne() {
            handedOut.decrementAndGet();
            if (waitingForDone && handedOut.get() < limit) {
                waitingForDone = false;
                request(1);
            }
        }
    }

    /** A mail handed out: when the consumer is done with it, its queue may hand out another. */
    private static final class CountedItem implements MailQueueItem {
        private final MailQueueItem item;
        private final Reader reader;
        private final java.util.concurrent.atomic.AtomicBoolean counted = new java.util.concurrent.atomic.AtomicBoolean(true);

        private CountedItem(MailQueueItem item, Reader reader) {
            this.item = item;
            this.reader = reader;
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
                if (counted.compareAndSet(true, false)) {
                    reader.doneWithOne();
                }
            }
        }
    }

    private synchronized void addReader(MailQueue queue) {
        holds.register(queue.getName().asString());
        Reader reader = new Reader(queue, Schedulers.newSingle("postino-" + queue.getName().asString() + "-dequeue", true), new AtomicInteger());
        readers.add(reader);
        if (consumer != null) {
            reader.start();
        }
    }

    private void subscribed(FluxSink<MailQueueItem> sink) {
        synchronized (this) {
            if (consumer != null) {
                sink.error(new IllegalStateException("Queue " + name.asString() + " has one reader already"));
                return;
            }
            consumer = sink;
            readers.forEach(Reader::start);
        }
        sink.onRequest(requested -> {
            demand.accumulateAndGet(requested, (current, more) -> current + more < 0 ? Long.MAX_VALUE : current + more);
            drain();
        });
        sink.onDispose(() -> {
            synchronized (this) {
                readers.forEach(reader -> {
                    reader.dispose();
                    reader.thread.dispose();
                });
            }
        });
    }

    /** Hands mails to the consumer as it asks for them, taking turns between the queues that have one. */
    private void drain() {
        if (draining.getAndIncrement() != 0) {
            return;
        }
        int missed = 1;
        do {
            while (demand.get() > 0 && consumer != null) {
                Reader reader = ready.poll();
                if (reader == null) {
                    break;
                }
                if (holds.isHeld(reader.queue.getName().asString())) {
                    parked.add(reader);
                    if (!holds.isHeld(reader.queue.getName().asString())) {
                        // released between the two looks: its release found nothing parked
                        unpark();
                    }
                    continue;
                }
                MailQueueItem item = reader.take();
                demand.decrementAndGet();
                CountedItem counted = new CountedItem(item, reader);
                reader.handedOne();
                try {
                    consumer.next(counted);
                } catch (RuntimeException e) {
                    LOGGER.error("The reader of {} failed on a mail; it goes back to its queue", name.asString(), e);
                    try {
                        counted.done(MailQueueItem.CompletionStatus.RETRY);
                    } catch (Exception retry) {
                        LOGGER.error("Could not put the mail back in {}", name.asString(), retry);
                    }
                }
            }
            missed = draining.addAndGet(-missed);
        } while (missed != 0);
    }

    /** Puts the queues no longer on hold back in line, with the mail their reader kept. */
    private void unpark() {
        boolean any = false;
        for (Reader reader : parked) {
            if (!holds.isHeld(reader.queue.getName().asString()) && parked.remove(reader)) {
                ready.add(reader);
                any = true;
            }
        }
        if (any) {
            drain();
        }
    }

    /** Acknowledges, so removes, the mail the reader of a held queue keeps, if it matches; then reads the next. */
    private long discardKept(String queue, Predicate<Mail> which) {
        long discarded = 0;
        for (Reader reader : parked) {
            // Taken out of parked first: unpark, the only other taker, then cannot hand the mail out meanwhile.
            if (!reader.queue.getName().asString().equals(queue) || !parked.remove(reader)) {
                continue;
            }
            MailQueueItem item = reader.take();
            boolean removed = false;
            if (which.test(item.getMail())) {
                try {
                    item.done(MailQueueItem.CompletionStatus.SUCCESS);
                    removed = true;
                } catch (MailQueueException | RuntimeException e) {
                    LOGGER.error("Could not remove {} from {}", item.getMail().getName(), queue, e);
                }
            }
            if (removed) {
                discarded++;
                reader.request(1);
            } else {
                reader.held = item;
                parked.add(reader);
                if (!holds.isHeld(queue)) {
                    unpark();
                }
            }
        }
        return discarded;
    }

    private List<String> known() {
        List<String> ids = new ArrayList<>();
        knownQueues.filter(Files::exists).ifPresent(file -> {
            try {
                Files.readAllLines(file, StandardCharsets.UTF_8).stream().map(String::trim)
                    .filter(id -> ORGANISATION_ID.matcher(id).matches()).forEach(ids::add);
            } catch (IOException e) {
                LOGGER.warn("Cannot read {}: queues of removed organisations are read again once they receive mail", file, e);
            }
        });
        return ids;
    }

    private MailQueue lane(String organisation) {
        return lanes.computeIfAbsent(organisation, id -> {
            MailQueue queue = factory.createQueue(MailQueueName.of(name.asString() + "." + id));
            remember(id);
            addReader(queue);
            return queue;
        });
    }

    private void remember(String id) {
        knownQueues.ifPresent(file -> {
            try {
                if (!known().contains(id)) {
                    Files.createDirectories(file.getParent());
                    Files.writeString(file, id + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                }
            } catch (IOException e) {
                LOGGER.warn("Cannot record the queue of {} in {}", id, file, e);
            }
        });
    }

    private MailQueue queueOf(Mail mail) {
        return AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.ORGANISATION, String.class)
            .filter(id -> ORGANISATION_ID.matcher(id).matches())
            .map(this::lane)
            .orElse(shared);
    }

    @Override
    public MailQueueName getName() {
        return name;
    }

    @Override
    public void enQueue(Mail mail, Duration delay) throws MailQueueException {
        queueOf(mail).enQueue(mail, delay);
    }

    @Override
    public void enQueue(Mail mail) throws MailQueueException {
        queueOf(mail).enQueue(mail);
    }

    @Override
    public Publisher<Void> enqueueReactive(Mail mail) {
        return queueOf(mail).enqueueReactive(mail);
    }

    /** How many queues hold a mail ready to hand out (for tests). */
    int readyQueues() {
        return ready.size();
    }

    @Override
    public Publisher<MailQueueItem> deQueue() {
        return merged;
    }

    @Override
    public synchronized void close() throws IOException {
        readers.forEach(reader -> {
            reader.dispose();
            reader.thread.dispose();
        });
        shared.close();
        for (MailQueue lane : lanes.values()) {
            lane.close();
        }
    }
}
