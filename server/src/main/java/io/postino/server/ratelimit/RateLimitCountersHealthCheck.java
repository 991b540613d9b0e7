package io.postino.server.ratelimit;

import javax.inject.Inject;

import org.apache.james.core.healthcheck.ComponentName;
import org.apache.james.core.healthcheck.HealthCheck;
import org.apache.james.core.healthcheck.Result;
import org.reactivestreams.Publisher;

import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Whether the rate-limit counters answer. Down while limits fail open: degraded (mail flows, no
 * limits). Down while they fail closed: unhealthy (mail is refused).
 */
public class RateLimitCountersHealthCheck implements HealthCheck {
    private static final ComponentName COMPONENT = new ComponentName("RateLimitCounters");

    private final RateLimiter rateLimiter;

    @Inject
    public RateLimitCountersHealthCheck(RateLimiter rateLimiter) {
        this.rateLimiter = rateLimiter;
    }

    @Override
    public ComponentName componentName() {
        return COMPONENT;
    }

    @Override
    public Publisher<Result> check() {
        return Mono.fromCallable(() -> {
            try {
                rateLimiter.store().ping();
                return Result.healthy(COMPONENT);
            } catch (CounterStoreUnavailable e) {
                String cause = e.getMessage() + (rateLimiter.failsOpen()
                    ? "; limits fail open: mail is accepted without limits"
                    : "; limits fail closed: mail is refused with 451 4.3.0");
                return rateLimiter.failsOpen() ? Result.degraded(COMPONENT, cause) : Result.unhealthy(COMPONENT, cause);
            }
        }).subscribeOn(Schedulers.boundedElastic());
    }
}
