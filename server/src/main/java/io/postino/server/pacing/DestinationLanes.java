package io.postino.server.pacing;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeName;
import org.apache.mailet.AttributeUtils;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.Pacing;

/**
 * This node's deliveries per destination domain: how many are in progress and when the next may
 * start. A mail may start when every domain of its recipients has a free connection and its
 * delivery slot has come. Slots are reserved in order and spaced {@code 60 s / messagesPerMinute}
 * apart, so a queue of mail for one domain leaves at an even pace.
 */
final class DestinationLanes {
    /** Epoch millisecond of the delivery slot reserved for a mail that had to wait. */
    static final AttributeName SLOT = AttributeName.of("postino.pacing.slot");
    private static final Duration SLOT_TOLERANCE = Duration.ofMillis(20);
    /**
     * A mail back from the queue later than this after its slot lost the slot: it takes a new one,
     * so that mail returning together from the queue does not leave together.
     */
    private static final Duration SLOT_GRACE = Duration.ofSeconds(1);
    private static final Duration IDLE = Duration.ofMinutes(10);

    /**
     * What a mail may do now: go (holding connections of {@code lanes}), or wait {@code delay},
     * in memory ({@code inMemory}) or back in the queue. A mail waiting in memory for a busy
     * destination counts as one of its waiters ({@code waitingOn}) until it is admitted again.
     */
    record Admission(List<Lane> lanes, Duration delay, boolean inMemory, Lane waitingOn, boolean held) {
        Admission(List<Lane> lanes, Duration delay, boolean inMemory, Lane waitingOn) {
            this(lanes, delay, inMemory, waitingOn, false);
        }

        static Admission go(List<Lane> lanes) {
            return new Admission(lanes, Duration.ZERO, false, null);
        }

        /** A recipient's domain or route is on hold: back to the queue, checked again in {@link #HELD_RECHECK}. */
        static Admission heldBack() {
            return new Admission(List.of(), HELD_RECHECK, false, null, true);
        }

        boolean admitted() {
            return delay.isZero();
        }

        void release() {
            lanes.forEach(Lane::release);
        }

        void stopWaiting() {
            if (waitingOn != null) {
                waitingOn.waiting.decrementAndGet();
            }
        }
    }

    static final class Lane {
        private final Pacing rule;
        private final AtomicInteger inFlight;
        private final AtomicInteger waiting = new AtomicInteger();
        private final Bucket slots;
        private volatile Instant lastUsed = Instant.now();

        private Lane(Pacing rule, AtomicInteger inFlight) {
            this.rule = rule;
            this.inFlight = inFlight;
            this.slots = rule.messagesPerMinute().isPresent()
                ? Bucket.builder().addLimit(Bandwidth.builder().capacity(1)
                    .refillGreedy(1, Duration.ofNanos(Duration.ofMinutes(1).toNanos() / rule.messagesPerMinute().getAsInt())).build()).build()
                : null;
        }

        private boolean tryAcquire() {
            lastUsed = Instant.now();
            if (rule.connections().isEmpty()) {
                inFlight.incrementAndGet();
                return true;
            }
            int max = rule.connections().getAsInt();
            while (true) {
                int current = inFlight.get();
                if (current >= max) {
                    return false;
                }
                if (inFlight.compareAndSet(current, current + 1)) {
                    return true;
                }
            }
        }

        void release() {
            inFlight.decrementAndGet();
            lastUsed = Instant.now();
        }

        /** Reserves the next slot; zero when it is now. */
        private Duration reserveSlot() {
            return slots == null ? Duration.ZERO : Duration.ofNanos(slots.consumeIgnoringRateLimits(1));
        }

        int inFlight() {
            return inFlight.get();
        }
    }

    /** Longest wait for a delivery slot spent in memory; longer waits go back to the queue. */
    static final Duration HOLD = Duration.ofSeconds(12);
    /**
     * How much earlier than its slot a mail is put back in the queue: the embedded queue finds
     * delayed mail up to ~10 s late, so the mail comes back before its slot and waits the rest here.
     */
    static final Duration REQUEUE_EARLY = Duration.ofSeconds(11);
    /** Delay of a mail put back because its destination's connections and waiters are all taken. */
    static final Duration BUSY_REQUEUE = Duration.ofSeconds(2);
    /** Delay of a mail put back because a destination of it is on hold; a release makes it due sooner. */
    static final Duration HELD_RECHECK = Duration.ofSeconds(30);

    private final Supplier<OrganisationsConfig> config;
    private final Duration busyRetry;
    private final HeldDestinations held;
    private final ConcurrentHashMap<String, Lane> lanes = new ConcurrentHashMap<>();

    /** @param busyRetry how soon a mail waiting in memory for a busy destination tries again */
    DestinationLanes(Supplier<OrganisationsConfig> config, Duration busyRetry) {
        this(config, busyRetry, HeldDestinations.inMemory());
    }

    /** @param held the destinations on hold: mail to them waits in the queue until they are released */
    DestinationLanes(Supplier<OrganisationsConfig> config, Duration busyRetry, HeldDestinations held) {
        this.config = config;
        this.busyRetry = busyRetry;
        this.held = held;
    }

    Admission admit(Mail mail, Instant now) {
        if (held.holds(mail, config.get())) {
            return Admission.heldBack();
        }
        List<Lane> wanted = new ArrayList<>();
        for (String domain : domainsOf(mail)) {
            wanted.add(lane(domain));
        }
        List<Lane> acquired = new ArrayList<>();
        for (Lane lane : wanted) {
            if (!lane.tryAcquire()) {
                acquired.forEach(Lane::release);
                return busy(lane);
            }
            acquired.add(lane);
        }
        Duration wait = slotWait(mail, acquired, now);
        if (!wait.isZero()) {
            acquired.forEach(Lane::release);
            if (wait.compareTo(HOLD) <= 0) {
                return new Admission(List.of(), wait, true, null);
            }
            return new Admission(List.of(), wait.minus(REQUEUE_EARLY), false, null);
        }
        mail.removeAttribute(SLOT);
        return Admission.go(acquired);
    }

    /**
     * As many mails as the destination has connections may wait for one in memory; more would
     * only take admission places other destinations need, so they go back to the queue.
     */
    private Admission busy(Lane lane) {
        int limit = lane.rule.connections().orElse(Integer.MAX_VALUE);
        if (lane.waiting.incrementAndGet() <= limit) {
            return new Admission(List.of(), busyRetry, true, lane);
        }
        lane.waiting.decrementAndGet();
        return new Admission(List.of(), BUSY_REQUEUE, false, null);
    }

    private Duration slotWait(Mail mail, List<Lane> lanes, Instant now) {
        java.util.Optional<Long> reserved = AttributeUtils.getValueAndCastFromMail(mail, SLOT, Long.class);
        if (reserved.isPresent()) {
            Duration untilSlot = Duration.between(now, Instant.ofEpochMilli(reserved.get()));
            if (untilSlot.compareTo(SLOT_TOLERANCE) > 0) {
                return untilSlot;
            }
            if (untilSlot.compareTo(SLOT_GRACE.negated()) >= 0) {
                return Duration.ZERO;
            }
        }
        Duration wait = Duration.ZERO;
        for (Lane lane : lanes) {
            Duration laneWait = lane.reserveSlot();
            if (laneWait.compareTo(wait) > 0) {
                wait = laneWait;
            }
        }
        if (!wait.isZero()) {
            mail.setAttribute(new Attribute(SLOT, AttributeValue.of(now.plus(wait).toEpochMilli())));
        }
        return wait;
    }

    private Lane lane(String domain) {
        Pacing rule = config.get().pacingFor(domain);
        return lanes.compute(domain, (key, lane) -> {
            if (lane != null && lane.rule.equals(rule)) {
                return lane;
            }
            // A reload changed the rule: keep counting the deliveries already in progress.
            return new Lane(rule, lane == null ? new AtomicInteger() : lane.inFlight);
        });
    }

    private static Set<String> domainsOf(Mail mail) {
        Set<String> domains = new TreeSet<>();
        for (MailAddress recipient : mail.getRecipients()) {
            domains.add(recipient.getDomain().asString().toLowerCase(Locale.ROOT));
        }
        return domains;
    }

    /** Forgets domains with nothing in flight and no use for {@link #IDLE}. */
    void forgetIdle(Instant now) {
        lanes.forEach((domain, lane) -> lanes.computeIfPresent(domain, (key, current) ->
            current.inFlight() == 0 && current.waiting.get() == 0 && current.lastUsed.plus(IDLE).isBefore(now) ? null : current));
    }

    int inFlight(String domain) {
        Lane lane = lanes.get(domain.toLowerCase(Locale.ROOT));
        return lane == null ? 0 : lane.inFlight();
    }
}
