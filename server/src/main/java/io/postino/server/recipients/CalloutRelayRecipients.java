package io.postino.server.recipients;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;

import io.postino.organisations.RelayDomain;
import io.postino.recipients.CalloutVerdict;
import io.postino.recipients.RelayRecipients;

/**
 * Verifies recipients of relay domains with an SMTP callout, remembering accepted recipients for
 * {@code callout.positiveTtl} and refused ones for {@code callout.negativeTtl}. Concurrent checks
 * of one address share one probe; an unknown answer (server unreachable, 4xx) is not remembered.
 */
public final class CalloutRelayRecipients implements RelayRecipients {
    private final BiFunction<RelayDomain, String, CalloutVerdict> probe;
    private final ExecutorService executor;
    private final Duration timeout;
    private final AsyncCache<String, CalloutVerdict> cache;

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

    public static CalloutRelayRecipients create(RecipientSettings settings, String heloName, ExecutorService executor) {
        SmtpCallout callout = new SmtpCallout(heloName, settings.calloutSender(), settings.calloutTimeout());
        return new CalloutRelayRecipients(callout::probe, executor, settings.calloutTimeout(),
            settings.calloutPositiveTtl(), settings.calloutNegativeTtl());
    }

    @Override
    public CalloutVerdict verify(RelayDomain relay, String address) {
        String key = relay.hostAndPort() + " " + address.toLowerCase(Locale.ROOT);
        CompletableFuture<CalloutVerdict> verdict = cache.get(key,
            (any, ignored) -> CompletableFuture.supplyAsync(() -> probe.apply(relay, address), executor));
        try {
            return verdict.get(timeout.toMillis() + 2000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CalloutVerdict.unknown("interrupted");
        } catch (ExecutionException e) {
            return CalloutVerdict.unknown(String.valueOf(e.getCause()));
        } catch (TimeoutException e) {
            return CalloutVerdict.unknown(relay.hostAndPort() + " did not answer within " + timeout.toSeconds() + " s");
        }
    }
}
