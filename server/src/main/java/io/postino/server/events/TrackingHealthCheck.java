package io.postino.server.events;

import javax.inject.Inject;

import org.apache.james.core.healthcheck.ComponentName;
import org.apache.james.core.healthcheck.HealthCheck;
import org.apache.james.core.healthcheck.Result;
import org.reactivestreams.Publisher;

import reactor.core.publisher.Mono;

/**
 * {@code /healthcheck/checks/Tracking}: degraded while the tracking index cannot be written (the
 * disk is full, say). Mail still flows; searches miss the events since then until it writes again.
 */
public class TrackingHealthCheck implements HealthCheck {
    private static final ComponentName COMPONENT = new ComponentName("Tracking");

    private final TrackingIndex index;

    @Inject
    public TrackingHealthCheck(TrackingIndex index) {
        this.index = index;
    }

    @Override
    public ComponentName componentName() {
        return COMPONENT;
    }

    @Override
    public Publisher<Result> check() {
        return Mono.fromCallable(() -> index.outage()
            .map(outage -> Result.degraded(COMPONENT, "The tracking index at " + index.directory() + " cannot be written since "
                + outage.since() + ": " + outage.reason() + "; " + index.waiting() + " events wait, " + index.dropped()
                + " dropped in all. Mail is not affected"))
            .orElseGet(() -> Result.healthy(COMPONENT)));
    }
}
