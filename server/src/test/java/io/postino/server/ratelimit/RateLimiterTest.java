package io.postino.server.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.EstimationProbe;
import io.postino.organisations.Limit;
import io.postino.server.metrics.PostinoMetrics;

class RateLimiterTest {
    private static final Limit FIVE_MESSAGES_A_MINUTE = new Limit(Limit.Scope.USER, Limit.Period.MINUTE, Limit.Unit.MESSAGES, 5);
    private static final Limit TEN_RECIPIENTS_A_HOUR = new Limit(Limit.Scope.ORGANISATION, Limit.Period.HOUR, Limit.Unit.RECIPIENTS, 10);
    private static final Limit QUOTA = new Limit(Limit.Scope.ORGANISATION, Limit.Period.QUOTA_DAY, Limit.Unit.RECIPIENTS, 3);

    private final PostinoMetrics metrics = new PostinoMetrics();
    private final RateLimiter limiter = new RateLimiter(new MemoryCounters(), RateLimitSettings.DEFAULTS, metrics);

    private static RateLimiter.Subject alice() {
        return new RateLimiter.Subject(Limit.Scope.USER, "alice@acme.test", List.of(FIVE_MESSAGES_A_MINUTE));
    }

    private static RateLimiter.Subject acme() {
        return new RateLimiter.Subject(Limit.Scope.ORGANISATION, "acme", List.of(TEN_RECIPIENTS_A_HOUR, QUOTA));
    }

    @Test
    void checkingTakesNothing() {
        for (int i = 0; i < 20; i++) {
            assertThat(limiter.check(List.of(alice()), Limit.Unit.MESSAGES, 1).allowed()).isTrue();
        }
    }

    @Test
    void chargedUnitsCountAgainstTheLimitAndTheRefusalSaysWhenItFreesUp() {
        limiter.charge(List.of(alice()), Limit.Unit.MESSAGES, 5);

        RateLimiter.Decision decision = limiter.check(List.of(alice()), Limit.Unit.MESSAGES, 1);

        assertThat(decision.allowed()).isFalse();
        assertThat(decision.limit()).contains(FIVE_MESSAGES_A_MINUTE);
        assertThat(decision.subject().map(RateLimiter.Subject::describe)).contains("user alice@acme.test");
        assertThat(decision.retryAfter()).isBetween(Duration.ofSeconds(11), Duration.ofSeconds(12));
        assertThat(metrics.registry().getSampleValue("postino_ratelimit_refusals_total", new String[]{"scope", "period", "unit"},
            new String[]{"user", "minute", "messages"})).isEqualTo(1.0);
    }

    @Test
    void onlyTheUnitOfTheCheckCounts() {
        limiter.charge(List.of(alice()), Limit.Unit.RECIPIENTS, 100);

        assertThat(limiter.check(List.of(alice()), Limit.Unit.MESSAGES, 1).allowed()).isTrue();
    }

    @Test
    void aCheckAsksForTheRecipientsAlreadyAcceptedInTheTransactionPlusOne() {
        limiter.charge(List.of(acme()), Limit.Unit.RECIPIENTS, 0);

        assertThat(limiter.check(List.of(acme()), Limit.Unit.RECIPIENTS, 3).allowed()).isTrue();
        RateLimiter.Decision fourth = limiter.check(List.of(acme()), Limit.Unit.RECIPIENTS, 4);
        assertThat(fourth.limit()).contains(QUOTA);
    }

    @Test
    void quotaRenewsAtMidnightUtc() {
        limiter.charge(List.of(acme()), Limit.Unit.RECIPIENTS, 3);

        RateLimiter.Decision decision = limiter.check(List.of(acme()), Limit.Unit.RECIPIENTS, 1);

        assertThat(decision.limit()).contains(QUOTA);
        assertThat(decision.retryAfter()).isLessThanOrEqualTo(Duration.ofDays(1)).isPositive();
    }

    @Test
    void chargingPastTheLimitLeavesADebt() {
        limiter.charge(List.of(alice()), Limit.Unit.MESSAGES, 8);

        List<RateLimiter.Usage> usage = limiter.usage(alice());

        assertThat(usage).hasSize(1);
        assertThat(usage.get(0).available()).isEqualTo(-3);
        assertThat(usage.get(0).used()).isEqualTo(8);
        assertThat(usage.get(0).nextTokenIn()).isPositive();
    }

    @Test
    void usersDoNotShareCounters() {
        limiter.charge(List.of(alice()), Limit.Unit.MESSAGES, 5);
        RateLimiter.Subject bob = new RateLimiter.Subject(Limit.Scope.USER, "bob@acme.test", List.of(FIVE_MESSAGES_A_MINUTE));

        assertThat(limiter.check(List.of(bob), Limit.Unit.MESSAGES, 1).allowed()).isTrue();
    }

    /** A store that is down, as Redis is when unreachable. */
    private static final class DownStore implements CounterStore {
        @Override
        public CompletableFuture<EstimationProbe> estimate(String key, Supplier<BucketConfiguration> configuration, long tokens) {
            return CompletableFuture.failedFuture(new CounterStoreUnavailable("Redis at redis://127.0.0.1:1 is unreachable", null));
        }

        @Override
        public CompletableFuture<Long> consume(String key, Supplier<BucketConfiguration> configuration, long tokens) {
            return CompletableFuture.failedFuture(new CounterStoreUnavailable("Redis at redis://127.0.0.1:1 is unreachable", null));
        }

        @Override
        public Bucket bucket(String key, Supplier<BucketConfiguration> configuration) {
            throw new CounterStoreUnavailable("Redis at redis://127.0.0.1:1 is unreachable", null);
        }

        @Override
        public void ping() {
            throw new CounterStoreUnavailable("Redis at redis://127.0.0.1:1 is unreachable", null);
        }

        @Override
        public String describe() {
            return "redis://127.0.0.1:1";
        }
    }

    @Test
    void failingOpenAcceptsWhileTheStoreIsDown() {
        RateLimiter open = new RateLimiter(new DownStore(), RateLimitSettings.DEFAULTS, metrics);

        assertThat(open.check(List.of(alice()), Limit.Unit.MESSAGES, 1).allowed()).isTrue();
        assertThat(open.lastFailure()).hasValueSatisfying(failure -> assertThat(failure).contains("unreachable"));
    }

    @Test
    void failingClosedRefusesWhileTheStoreIsDown() {
        RateLimitSettings closed = new RateLimitSettings(RateLimitSettings.Store.REDIS, RateLimitSettings.DEFAULTS.redisUri(),
            Duration.ofMillis(100), false);
        RateLimiter limiterClosed = new RateLimiter(new DownStore(), closed, metrics);

        RateLimiter.Decision decision = limiterClosed.check(List.of(alice()), Limit.Unit.MESSAGES, 1);

        assertThat(decision.allowed()).isFalse();
        assertThat(decision.storeUnavailable()).isTrue();
    }
}
