package io.postino.server.spool;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiFunction;
import java.util.function.Predicate;

import javax.annotation.PreDestroy;
import javax.mail.MessagingException;
import javax.mail.internet.MimeMessage;

import org.apache.james.server.core.MimeMessageSource;
import org.apache.james.server.core.MimeMessageWrapper;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeName;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Postino's spool: every queue ({@code spool}, {@code outgoing}, their per-organisation parts,
 * {@code inbound}) and the error repository in one {@link SpoolStore}. It keeps each queue's
 * items in memory in due order, and on disk the items and the bodies they refer to: a body is
 * written once, when its message first enters the spool, and deleted with the last item that
 * refers to it. Moving a mail from queue to queue or retrying it refers to the same body; a
 * mailet that changes the body (8-bit to 7-bit conversion) or copies the mail ({@code
 * Mail.duplicate()}, as splitting by route does) makes a new one.
 *
 * <p>Processing failures never lose a mail: when James' spooler puts a mail back after an
 * exception (a store down, the disk full), it waits 30 s, then twice as long each time, up to an
 * hour (James' own count, which would park it after 5, is taken off); only after
 * {@link #PARK_AFTER} failures (about a day) is it parked in the error repository, also kept
 * here. {@code done(REJECT)} is a retry in a minute, never a drop.</p>
 */
public final class Spool implements AutoCloseable {
    private static final Logger LOGGER = LoggerFactory.getLogger(Spool.class);
    private final List<BiFunction<String, Predicate<Mail>, Long>> removalListeners = new CopyOnWriteArrayList<>();
    /** James' spooler counts processing failures in this attribute and parks a mail after 5. */
    static final AttributeName JAMES_FAILURES = AttributeName.of("mail-processing-error-count");
    /** The failures the spool counts, which survive the spooler's own count. */
    static final AttributeName FAILURES = AttributeName.of("postino.spool.processingFailures");
    /** 30 s, 1, 2, 4 ... 32 min, then hourly: about a day. */
    static final int PARK_AFTER = 30;
    static final String ERROR_REPOSITORY = "var/mail/error/";
    private static final Duration FIRST_BACKOFF = Duration.ofSeconds(30);
    private static final Duration MAX_BACKOFF = Duration.ofHours(1);
    /** Free space a new message may not take: what moving, retrying and deleting the mail already queued needs (items of about 1 KiB). */
    static final long RESERVE = 16L << 20;

    private final SpoolStore store;
    private final Clock clock;
    private final ConcurrentHashMap<String, SpoolMailQueue> queues = new ConcurrentHashMap<>();
    private final Map<Long, Integer> references = new HashMap<>();
    private final ConcurrentLinkedQueue<SpoolItem> pendingDeletes = new ConcurrentLinkedQueue<>();
    private final ScheduledExecutorService timers;
    private final SpoolListener listener;
    private final java.util.function.LongSupplier freeSpace;
    /** Octets of new bodies being written right now (see {@link #reserve}). */
    private final java.util.concurrent.atomic.AtomicLong writing = new java.util.concurrent.atomic.AtomicLong();

    /** Told about what goes wrong, for events and metrics. */
    public interface SpoolListener {
        void processingFailed(Mail mail, int failures, Duration retryIn);

        /** After {@link #PARK_AFTER} failures the mail goes to the error repository. */
        default void parked(Mail mail, int failures) {
        }

        SpoolListener NONE = (mail, failures, retryIn) -> { };
    }

    Spool(SpoolStore store, Clock clock, SpoolListener listener) {
        this(store, clock, listener, () -> store.directory().toFile().getUsableSpace());
    }

    /** @param freeSpace free octets on the spool's file system (tests give their own) */
    Spool(SpoolStore store, Clock clock, SpoolListener listener, java.util.function.LongSupplier freeSpace) {
        this.store = store;
        this.freeSpace = freeSpace;
        this.clock = clock;
        this.listener = listener;
        this.timers = Executors.newScheduledThreadPool(2, runnable -> {
            Thread thread = new Thread(runnable, "postino-spool");
            thread.setDaemon(true);
            return thread;
        });
        recover();
        timers.scheduleWithFixedDelay(this::maintain, 1, 1, TimeUnit.SECONDS);
    }

    public static Spool open(Path directory, SpoolListener listener) throws Exception {
        return new Spool(SpoolStore.open(directory), Clock.systemUTC(), listener);
    }

    /** Loads every item into its queue and forgets bodies no item refers to. */
    private void recover() {
        List<Long> corrupt = new ArrayList<>();
        store.forEachItem((id, octets) -> {
            try {
                SpoolItem item = SpoolItem.decode(id, octets);
                references.merge(item.message().bodyId(), 1, Integer::sum);
                queue(item.queue()).restore(item);
            } catch (IOException e) {
                LOGGER.error("Spool item {} cannot be read ({}); it is left in the store and not queued", id, e.toString());
                corrupt.add(id);
            }
        });
        List<Long> orphans = store.bodyIds().stream().filter(body -> !references.containsKey(body)).toList();
        if (!corrupt.isEmpty() && !orphans.isEmpty()) {
            // An unreadable item may refer to any of them: keep them all for whoever repairs it.
            LOGGER.warn("Keeping {} bodies no readable mail refers to, since {} items cannot be read", orphans.size(), corrupt.size());
        } else if (!orphans.isEmpty()) {
            try {
                store.write(batch -> {
                    for (long body : orphans) {
                        batch.delete(SpoolStore.Family.BODIES, SpoolStore.key(body));
                    }
                }, false);
            } catch (Exception e) {
                LOGGER.warn("Could not remove {} bodies no mail refers to: {}", orphans.size(), e.toString());
            }
        }
        LOGGER.info("Spool at {}: {} mails in {} queues{}", store.directory(), queues.values().stream().mapToLong(SpoolMailQueue::getSize).sum(),
            queues.size(), corrupt.isEmpty() ? "" : ", " + corrupt.size() + " unreadable");
    }

    /**
     * Told of every removal from a queue through its James contract ({@code remove}, {@code clear}:
     * WebAdmin's {@code /mailQueues}), to remove what it holds back of that queue: a held queue's
     * reader keeps one mail in hand, out of the queue's reach. Returns how many it removed.
     */
    public void onRemoval(BiFunction<String, Predicate<Mail>, Long> listener) {
        removalListeners.add(listener);
    }

    long removedElsewhere(String queue, Predicate<Mail> which) {
        return removalListeners.stream().mapToLong(listener -> listener.apply(queue, which)).sum();
    }

    SpoolMailQueue queue(String name) {
        return queues.computeIfAbsent(name, any -> new SpoolMailQueue(name, this, clock, timers));
    }

    Set<String> queueNames() {
        return Set.copyOf(queues.keySet());
    }

    /**
     * One queue as metrics show it: its mails (waiting and being processed), and since when the
     * one that has waited longest has waited (received, else entered the queue; mail found at
     * start-up counts from then, or from its due time if earlier).
     */
    public record QueueState(String queue, long size, Optional<Instant> oldestSince) {
    }

    /** Every queue's size and oldest mail, read from memory: cheap enough for every scrape. */
    public List<QueueState> queueStates() {
        List<QueueState> states = new ArrayList<>();
        queues.forEach((name, queue) -> states.add(new QueueState(name, queue.getSize(), queue.oldestSince().map(Instant::ofEpochMilli))));
        return states;
    }

    SpoolStore store() {
        return store;
    }

    /** Free octets on the spool's file system. */
    public long usableSpace() {
        return freeSpace.getAsLong();
    }

    public Path directory() {
        return store.directory();
    }

    public Optional<String> failure() {
        return store.failure();
    }

    /** Writes {@code mail} into {@code queue}, due after {@code delay}; with a new body, on disk when this returns. */
    SpoolItem add(String queue, Mail mail, Duration delay) throws MessagingException, SpoolStore.SpoolUnavailable {
        MimeMessage message = mail.getMessage();
        MessageRef ref;
        byte[] newBody = null;
        if (message instanceof SpooledMessage && ((SpooledMessage) message).storedIn(store) && !((SpooledMessage) message).isBodyModified()) {
            SpooledMessage spooled = (SpooledMessage) message;
            ref = spooled.isHeaderModified() ? spooled.ref().withHeaders(SpooledMessage.headerSection(spooled, null)) : spooled.ref();
        } else {
            newBody = octets(message);
            ref = new MessageRef(store.newId(), MessageRef.bodyOffset(newBody), null);
        }
        int failures = 0;
        Duration wait = delay;
        if (mail.getAttribute(JAMES_FAILURES).isPresent()) {
            // James' spooler puts the mail back after an exception: wait before trying again.
            failures = mail.getAttribute(FAILURES).flatMap(attribute -> attribute.getValue().valueAs(Integer.class)).orElse(0) + 1;
            mail.removeAttribute(JAMES_FAILURES);
            mail.setAttribute(new Attribute(FAILURES, AttributeValue.of(failures)));
            String reason = Optional.ofNullable(mail.getErrorMessage()).map(Spool::firstLine).orElse("see the log above");
            if (failures >= PARK_AFTER && !queue.startsWith(SpoolMailQueueFactory.REPOSITORY_PREFIX)) {
                // The same failure for about a day: a mail this server cannot process. It goes
                // where an operator sees it (the error repository, health check DEGRADED) and can
                // send it through again (WebAdmin reprocess), still on disk.
                listener.parked(mail, failures);
                LOGGER.error("Processing {} failed {} times (last: {}); it is parked in {} for an operator to look at and reprocess",
                    mail.getName(), failures, reason, ERROR_REPOSITORY);
                mail.setState(Mail.ERROR);
                queue = SpoolMailQueueFactory.REPOSITORY_PREFIX + ERROR_REPOSITORY;
                wait = Duration.ZERO;
            } else {
                wait = backoff(failures);
                listener.processingFailed(mail, failures, wait);
                LOGGER.warn("Processing {} failed ({} time(s)): {}; it waits in {} and is tried again in {} s", mail.getName(), failures,
                    reason, queue, wait.toSeconds());
            }
        } else {
            // Any other enqueue is progress: a later failure (or a DSN copying the attributes) starts afresh.
            mail.removeAttribute(FAILURES);
        }
        long due = clock.millis() + Math.max(0, wait.toMillis());
        SpoolItem item = new SpoolItem(store.newId(), queue, due, failures, ref, SpoolItem.envelopeOf(mail));
        reference(ref.bodyId());
        byte[] body = newBody;
        byte[] record = item.encode();
        long reserved = body == null ? 0 : body.length;
        try {
            reserve(reserved, mail);
            store.write(batch -> {
                if (body != null) {
                    batch.put(SpoolStore.Family.BODIES, SpoolStore.key(ref.bodyId()), body);
                }
                batch.put(SpoolStore.Family.ITEMS, SpoolStore.key(item.id()), record);
            }, body != null);
        } catch (SpoolStore.SpoolUnavailable e) {
            release(ref.bodyId());
            throw e;
        } finally {
            writing.addAndGet(-reserved);
        }
        return item;
    }

    /**
     * Takes room on disk for a new body, or refuses it (nothing is written) when it and the other
     * bodies being written now would leave less than {@link #RESERVE} free: sessions that all
     * passed the free-space check at DATA cannot fill the disk together, and the mail already
     * queued keeps the room it needs to move on. The caller gives the room back.
     */
    private void reserve(long octets, Mail mail) throws SpoolStore.SpoolUnavailable {
        long inFlight = writing.addAndGet(octets);
        if (octets == 0) {
            return;
        }
        long free = usableSpace();
        if (free - inFlight < RESERVE) {
            throw new SpoolStore.SpoolUnavailable("Not enough room for " + mail.getName() + " (" + (octets >> 10) + " KiB): "
                + (free >> 20) + " MiB free, " + ((inFlight - octets) >> 20) + " MiB being written by other sessions, "
                + (RESERVE >> 20) + " MiB kept for the mail already queued", null, true);
        }
    }

    private static String firstLine(String text) {
        int end = text.indexOf('\n');
        return end < 0 ? text : text.substring(0, end).trim();
    }

    static Duration backoff(int failures) {
        long seconds = FIRST_BACKOFF.toSeconds() << Math.min(failures - 1, 20);
        return Duration.ofSeconds(Math.min(seconds, MAX_BACKOFF.toSeconds()));
    }

    /**
     * The raw octets of a message that is not (or no longer) the spool's own: as received when
     * nothing changed it (the SMTP case), else as JavaMail writes it.
     */
    private static byte[] octets(MimeMessage message) throws MessagingException {
        try {
            if (message instanceof MimeMessageWrapper && !((MimeMessageWrapper) message).isBodyModified()) {
                MimeMessageWrapper wrapper = (MimeMessageWrapper) message;
                Optional<MimeMessageSource> source = sourceOf(wrapper);
                if (source.isPresent()) {
                    byte[] raw;
                    try (InputStream in = source.get().getInputStream()) {
                        raw = in.readAllBytes();
                    }
                    if (!wrapper.isHeaderModified()) {
                        return raw;
                    }
                    byte[] headers = SpooledMessage.headerSection(wrapper, null);
                    int offset = MessageRef.bodyOffset(raw);
                    ByteArrayOutputStream out = new ByteArrayOutputStream(headers.length + raw.length - offset);
                    out.writeBytes(headers);
                    out.write(raw, offset, raw.length - offset);
                    return out.toByteArray();
                }
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(1024, message.getSize()));
            message.writeTo(out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new MessagingException("Cannot read the message to spool it", e);
        }
    }

    private static final java.lang.reflect.Field SOURCE = sourceField();

    private static java.lang.reflect.Field sourceField() {
        try {
            java.lang.reflect.Field field = MimeMessageWrapper.class.getDeclaredField("source");
            field.setAccessible(true);
            return field;
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOGGER.warn("Cannot read James' message sources directly ({}); messages are spooled as JavaMail writes them", e.toString());
            return null;
        }
    }

    /**
     * The octets James' wrapper was read from (the SMTP data), which it keeps to itself: its own
     * writer re-encodes header lines as US-ASCII, so reading them raw is the only way to spool
     * 8-bit headers unchanged.
     */
    private static Optional<MimeMessageSource> sourceOf(MimeMessageWrapper wrapper) {
        if (SOURCE == null) {
            return Optional.empty();
        }
        try {
            return Optional.ofNullable((MimeMessageSource) SOURCE.get(wrapper));
        } catch (IllegalAccessException e) {
            return Optional.empty();
        }
    }

    private synchronized void reference(long body) {
        references.merge(body, 1, Integer::sum);
    }

    /** @return whether that was the last reference: the body is to be deleted */
    private synchronized boolean release(long body) {
        Integer count = references.get(body);
        if (count == null || count <= 1) {
            references.remove(body);
            return true;
        }
        references.put(body, count - 1);
        return false;
    }

    /** Deletes an item for good (and its body, if it was the last to refer to it). Not synced. */
    void remove(SpoolItem item) {
        boolean last = release(item.message().bodyId());
        if (!delete(item, last)) {
            pendingDeletes.add(new SpoolItem(item.id(), item.queue(), item.due(), last ? -1 : 0, item.message(), item.envelope()));
        }
    }

    private boolean delete(SpoolItem item, boolean body) {
        try {
            store.write(batch -> {
                batch.delete(SpoolStore.Family.ITEMS, SpoolStore.key(item.id()));
                if (body) {
                    batch.delete(SpoolStore.Family.BODIES, SpoolStore.key(item.message().bodyId()));
                }
            }, false);
            return true;
        } catch (SpoolStore.SpoolUnavailable | RuntimeException e) {
            return false;
        }
    }

    /** Deletes that failed (the disk was full) and wait to be tried again. */
    int deletesPending() {
        return pendingDeletes.size();
    }

    /** Rewrites an item's record (its due time changed). Not synced. */
    void rewrite(SpoolItem item) {
        try {
            byte[] record = item.encode();
            store.write(batch -> batch.put(SpoolStore.Family.ITEMS, SpoolStore.key(item.id()), record), false);
        } catch (SpoolStore.SpoolUnavailable | RuntimeException e) {
            LOGGER.debug("Could not record the new due time of {}: {}", item.name(), e.toString());
        }
    }

    SpooledMessage message(SpoolItem item) {
        return new SpooledMessage(store, item.message(), new SpooledMessage.Source(store, item.message()));
    }

    private void maintain() {
        try {
            store.maintain();
            for (int i = pendingDeletes.size(); i > 0; i--) {
                SpoolItem item = pendingDeletes.poll();
                if (item != null && !delete(item, item.failures() == -1)) {
                    pendingDeletes.add(item);
                    break;
                }
            }
        } catch (RuntimeException e) {
            LOGGER.warn("Spool maintenance failed: {}", e.toString());
        }
    }

    @Override
    @PreDestroy
    public void close() {
        timers.shutdownNow();
        queues.values().forEach(SpoolMailQueue::closeSubscribers);
        maintain();
        store.close();
    }
}
