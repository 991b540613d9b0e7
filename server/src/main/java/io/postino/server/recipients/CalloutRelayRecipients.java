package io.postino.server.recipients;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;

import javax.annotation.PreDestroy;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;

import io.postino.organisations.RelayDomain;
import io.postino.recipients.CalloutVerdict;
import io.postino.recipients.RelayRecipients;

/**
 * Verifies recipients of relay domains with an SMTP callout, remembering accepted recipients for
 * {@code callout.positiveTtl} and refused ones for {@code callout.negativeTtl}. Concurrent checks
 * of one address share one probe; an unknown answer (4xx, policy refusal) is not remembered. A
 * server that could not be reached is not asked again for {@value #DOWN_SECONDS} seconds: the
 * RCPTs meanwhile are answered at once (450) instead of each waiting for the timeout. Probes
 * run on a bounded pool; when its queue is full the answer is unknown (450).
 */
public final class CalloutRelayRecipients implements RelayRecipients {
    private final BiFunction<RelayDomain, String, CalloutVerdict> probe;
    private final ExecutorService executor;
    private final Duration timeout;
    private final AsyncCache<String, CalloutVerdict> cache;
    static final int DOWN_SECONDS = 30;
    /** host:port of servers found unreachable, with the reason. */
    private final Cache<String, String> down = Caffeine.newBuilder().maximumSize(10_000)
        .expireAfterWrite(Duration.ofSeconds(DOWN_SECONDS)).build();

    CalloutRelayRecipients(BiFunction<RelayDomain, String, CalloutVerdict> probe, ExecutorService executor, Duration timeout,
                           Duration positiveTtl, Duration negativeTtl) {
        this.probe = probe;
        this.executor = executor;
        this.timeout = timeout;
        this.cache = Caffeine.newBuilder()
            .maximumSize(200_000)
            .expireAfter(new Expiry<String, CalloutVerdict>() {
                @Override
                public long expireAfterCreate(String key, CalloutVerdict verdict, long now) {
                    switch (verdict.outcome()) {
                        case ACCEPTED:
                            return positiveTtl.toNanos();
                        case REFUSED:
                            return negativeTtl.toNanos();
                        default:
                            return 0;
                    }
                }

                @Override
                public long expireAfterUpdate(String key, CalloutVerdict verdict, long now, long current) {
                    return expireAfterCreate(key, verdict, now);
                }

                @Override
                public long expireAfterRead(String key, CalloutVerdict verdict, long now, long current) {
                    return current;
                }
            })
            .buildAsync();
    }

    /** Stops the probes; called when the server stops. */
    @PreDestroy
    public void stop() {
        executor.shutdownNow();
    }

    public static CalloutRelayRecipients create(RecipientSettings settings, String heloName, ExecutorService executor) {
        SmtpCallout callout = new SmtpCallout(heloName, settings.calloutSender(), settings.calloutTimeout());
        return new CalloutRelayRecipients(callout::probe, executor, settings.calloutTimeout(),
            settings.calloutPositiveTtl(), settings.calloutNegativeTtl());
    }

    @Override
    public CalloutVerdict verify(RelayDomain relay, String address) {
        String server = relay.hostAndPort();
        String unreachable = down.getIfPresent(server);
        if (unreachable != null) {
            return CalloutVerdict.unreachable(unreachable + " (less than " + DOWN_SECONDS + " s ago; not asked again yet)");
        }
        String key = server + " " + address.toLowerCase(Locale.ROOT);
        CompletableFuture<CalloutVerdict> verdict;
        try {
            verdict = cache.get(key, (any, ignored) -> CompletableFuture.supplyAsync(() -> probe.apply(relay, address), executor)
                .whenComplete((result, error) -> {
                    if (result != null && result.outcome() == CalloutVerdict.Outcome.UNREACHABLE) {
                        down.put(server, result.reply());
                    }
                }));
        } catch (RejectedExecutionException e) {
            return CalloutVerdict.unknown("too many recipient checks waiting for " + server);
        }
        try {
            CalloutVerdict answer = verdict.get(timeout.toMillis() + 2000, TimeUnit.MILLISECONDS);
            if (answer.outcome() != CalloutVerdict.Outcome.ACCEPTED && answer.outcome() != CalloutVerdict.Outcome.REFUSED) {
                // the zero expiry applies asynchronously; the next RCPT must not see this answer
                cache.asMap().remove(key, verdict);
            }
            return answer;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CalloutVerdict.unknown("interrupted");
        } catch (ExecutionException e) {
            return CalloutVerdict.unknown(String.valueOf(e.getCause()));
        } catch (TimeoutException e) {
            return CalloutVerdict.unreachable(server + " did not answer within " + timeout.toSeconds() + " s");
        }
    }
}
