package io.postino.server.ratelimit;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import javax.inject.Inject;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.EstimationProbe;
import io.postino.organisations.Limit;
import io.postino.server.metrics.PostinoMetrics;

/**
 * Counts what users, organisations and client addresses send, against their limits. A limit is a
 * token bucket (Bucket4j): {@code amount} tokens, refilled continuously over the period, so
 * "30 per minute" lets a burst of 30 through and then one every two seconds. A quota is refilled
 * all at once at midnight UTC.
 *
 * <p>Checks and charges are separate on purpose: SMTP checks at MAIL and RCPT whether one more
 * unit fits (nothing is taken), and charges what the transaction really delivered once the
 * message is accepted. An aborted or refused transaction therefore costs nothing. Transactions
 * in flight at the same moment can together pass a limit by their own size; the charge then
 * leaves the bucket in debt, so the next ones wait longer.</p>
 */
public class RateLimiter {
    private static final Logger LOGGER = LoggerFactory.getLogger(RateLimiter.class);

    /** Whose limits: a user's login, an organisation's id or a client's address, with its limits. */
    public record Subject(Limit.Scope scope, String name, List<Limit> limits) {
        public String describe() {
            return scope.configName() + " " + name;
        }

        List<Limit> limitsOf(Limit.Unit unit) {
            return limits.stream().filter(limit -> limit.unit() == unit).collect(Collectors.toList());
        }
    }

    /** What a check found: room, a limit reached (and when it frees up), or no counters. */
    public record Decision(Optional<Subject> subject, Optional<Limit> limit, Duration retryAfter, boolean storeUnavailable) {
        static final Decision ALLOWED = new Decision(Optional.empty(), Optional.empty(), Duration.ZERO, false);
        static final Decision STORE_UNAVAILABLE = new Decision(Optional.empty(), Optional.empty(), Duration.ZERO, true);

        public boolean allowed() {
            return limit.isEmpty() && !storeUnavailable;
        }
    }

    /** Current use of one limit, for WebAdmin. */
    public record Usage(Limit limit, long available, Duration nextTokenIn) {
        public long used() {
            return limit.amount() - available;
        }
    }

    /** Longest wait for the counters' answer to a check; a store slower than that counts as down. */
    private static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(2);

    private final CounterStore store;
    private final boolean failOpen;
    private final PostinoMetrics metrics;
    private final AtomicReference<String> lastFailure = new AtomicReference<>();
    private final AtomicReference<Instant> lastChargeFailureLog = new AtomicReference<>();

    @Inject
    public RateLimiter(CounterStore store, RateLimitSettings settings, PostinoMetrics metrics) {
        this.store = store;
        this.failOpen = settings.failOpen();
        this.metrics = metrics;
    }

    /**
     * Whether {@code needed} more units fit in every limit of every subject. All limits are asked
     * side by side; the first in order that lacks room is the answer.
     */
    public Decision check(List<Subject> subjects, Limit.Unit unit, long needed) {
        try {
            List<Subject> askedSubjects = new ArrayList<>();
            List<Limit> askedLimits = new ArrayList<>();
            List<CompletableFuture<EstimationProbe>> answers = new ArrayList<>();
            for (Subject subject : subjects) {
                for (Limit limit : subject.limitsOf(unit)) {
                    askedSubjects.add(subject);
                    askedLimits.add(limit);
                    answers.add(store.estimate(key(subject, limit), () -> configuration(limit), needed));
                }
            }
            for (int i = 0; i < answers.size(); i++) {
                EstimationProbe probe = answers.get(i).get(ANSWER_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                if (!probe.canBeConsumed()) {
                    Limit limit = askedLimits.get(i);
                    metrics.rateLimitRefusal(limit.scope().configName(), limit.period().configName().replace('-', '_'), limit.unit().configName());
                    recovered();
                    return new Decision(Optional.of(askedSubjects.get(i)), Optional.of(limit), retryAfter(limit, needed, probe), false);
                }
            }
            recovered();
            return Decision.ALLOWED;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failed(new CounterStoreUnavailable("interrupted", e));
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            failed(e);
        }
        return failOpen ? Decision.ALLOWED : Decision.STORE_UNAVAILABLE;
    }

    /**
     * Takes {@code units} from every limit of that unit, even past zero (the bucket goes into
     * debt). Does not wait for a remote store: the reply to the client does not depend on it. A
     * charge the store fails to record is counted ({@code postino_ratelimit_charge_failures}) and
     * logged, not replayed.
     */
    public void charge(List<Subject> subjects, Limit.Unit unit, long units) {
        if (units <= 0) {
            return;
        }
        for (Subject subject : subjects) {
            for (Limit limit : subject.limitsOf(unit)) {
                try {
                    store.consume(key(subject, limit), () -> configuration(limit), units)
                        .whenComplete((debt, error) -> {
                            if (error != null) {
                                chargeFailed(error);
                            }
                        });
                } catch (RuntimeException e) {
                    chargeFailed(e);
                }
            }
        }
    }

    /** @throws CounterStoreUnavailable when the counters cannot be read */
    public List<Usage> usage(Subject subject) {
        List<Usage> usage = new ArrayList<>();
        try {
            for (Limit limit : subject.limits()) {
                Bucket bucket = store.bucket(key(subject, limit), () -> configuration(limit));
                long available = bucket.getAvailableTokens();
                long nanos = available > 0 ? 0 : bucket.estimateAbilityToConsume(1).getNanosToWaitForRefill();
                usage.add(new Usage(limit, available, Duration.ofNanos(nanos)));
            }
        } catch (RuntimeException e) {
            failed(e);
            throw e instanceof CounterStoreUnavailable ? (CounterStoreUnavailable) e : new CounterStoreUnavailable(e.getMessage(), e);
        }
        return usage;
    }

    /** Empty when the counters answered last time; else what went wrong. */
    public Optional<String> lastFailure() {
        return Optional.ofNullable(lastFailure.get());
    }

    public boolean failsOpen() {
        return failOpen;
    }

    public CounterStore store() {
        return store;
    }

    /**
     * One bucket per limit. The key holds the limit's own value only, so adding or removing another
     * limit leaves its count alone; changing this limit's value starts it afresh.
     */
    private static String key(Subject subject, Limit limit) {
        return "postino:ratelimit:" + subject.scope().configName() + ":" + subject.name() + ":" + limit.unit().configName()
            + ":" + limit.period().configName() + ":" + limit.amount();
    }

    static BucketConfiguration configuration(Limit limit) {
        Bandwidth bandwidth;
        if (limit.isQuota()) {
            Instant nextMidnight = LocalDate.now(ZoneOffset.UTC).plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
            bandwidth = Bandwidth.builder().capacity(limit.amount())
                .refillIntervallyAligned(limit.amount(), Duration.ofDays(1), nextMidnight).build();
        } else {
            bandwidth = Bandwidth.builder().capacity(limit.amount()).refillGreedy(limit.amount(), limit.period().duration()).build();
        }
        return BucketConfiguration.builder().addLimit(bandwidth).build();
    }

    /** Never-fitting requests (more than the whole limit at once) wait a full period. */
    private static Duration retryAfter(Limit limit, long needed, EstimationProbe probe) {
        if (needed > limit.amount() || probe.getNanosToWaitForRefill() == Long.MAX_VALUE) {
            return limit.period().duration();
        }
        return Duration.ofNanos(probe.getNanosToWaitForRefill());
    }

    private void failed(Throwable e) {
        Throwable cause = e instanceof ExecutionException || e instanceof java.util.concurrent.CompletionException ? e.getCause() : e;
        String message = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        if (lastFailure.getAndSet(message) == null) {
            LOGGER.error("Rate-limit counters ({}) unavailable, limits now fail {}: {}", store.describe(), failOpen ? "OPEN (mail is accepted unlimited)" : "CLOSED (mail is refused with 451)", message);
        }
    }

    private void chargeFailed(Throwable e) {
        metrics.rateLimitChargeFailure();
        Instant now = Instant.now();
        Instant last = lastChargeFailureLog.get();
        if (last == null || last.plusSeconds(60).isBefore(now)) {
            lastChargeFailureLog.set(now);
            LOGGER.warn("Rate-limit counters ({}) did not record a charge (at most one such warning a minute): {}", store.describe(), e.toString());
        }
    }

    private void recovered() {
        if (lastFailure.getAndSet(null) != null) {
            LOGGER.warn("Rate-limit counters ({}) are reachable again, limits are enforced", store.describe());
        }
    }
}
