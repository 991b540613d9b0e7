package io.postino.server.spool;

import javax.inject.Inject;

import org.apache.james.core.healthcheck.ComponentName;
import org.apache.james.core.healthcheck.HealthCheck;
import org.apache.james.core.healthcheck.Result;
import org.reactivestreams.Publisher;

import reactor.core.publisher.Mono;

/** {@code /healthcheck/checks/Spool}: unhealthy while the spool cannot write (the disk is full, say). */
public class SpoolHealthCheck implements HealthCheck {
    private static final ComponentName COMPONENT = new ComponentName("Spool");

    private final Spool spool;

    @Inject
    public SpoolHealthCheck(Spool spool) {
        this.spool = spool;
    }

    @Override
    public ComponentName componentName() {
        return COMPONENT;
    }

    @Override
    public Publisher<Result> check() {
        return Mono.fromCallable(() -> spool.failure()
            .map(reason -> Result.unhealthy(COMPONENT, "The spool at " + spool.directory() + " cannot write: " + reason))
            .orElseGet(() -> Result.healthy(COMPONENT)));
    }
}
