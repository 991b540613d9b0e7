package io.postino.server.recipients;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedResolver;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.google.common.net.InternetDomainName;

import io.postino.recipients.DomainVerdict;
import io.postino.recipients.RecipientDomains;
import io.postino.server.smtp.LogSafe;

/**
 * Can a domain receive mail? Asks DNS for its MX records, and for A/AAAA when it has none (the
 * implicit MX of RFC 5321 §5.1); a lone MX of "." is a null MX (RFC 7505). Uses dnsjava directly,
 * the library James' DNS service is built on, because that service cannot tell a domain that does
 * not exist from one without records, nor report a null MX.
 *
 * <p>The whole check of a domain (MX, then A, then AAAA) has {@code dns.timeout} in all, so a DNS
 * server that does not answer holds a lookup thread for that long at most, not once per query.
 * Answers are cached for their DNS TTL (that of the SOA for negative answers) bounded by
 * {@code dns.minTtl}/{@code dns.maxTtl}; a timeout or a failure (SERVFAIL, REFUSED) for
 * {@code dns.failureTtl}, so that a flood of RCPTs to a domain whose DNS hangs is answered at once
 * instead of each starting a lookup of its own. Concurrent checks of one domain share one lookup.
 * And when {@value #ZONE_FAILURES} different subdomains of one zone (the registrable domain by the
 * public suffix list, else the parent domain) failed within {@code dns.failureTtl}, further
 * subdomains of it fail at once for that long: RCPTs to random names under a zone whose DNS
 * hangs ({@code x1.slow.example}, {@code x2.slow.example}, ...) cannot each hold a lookup for the
 * whole timeout.</p>
 */
public final class DnsRecipientDomains implements RecipientDomains {
    private static final Logger LOGGER = LoggerFactory.getLogger(DnsRecipientDomains.class);

    private record Answer(DomainVerdict verdict, Duration ttl) {
    }

    private static final java.util.concurrent.Executor CONTINUATIONS = java.util.concurrent.Executors.newCachedThreadPool(task -> {
        Thread thread = new Thread(task, "postino-dns");
        thread.setDaemon(true);
        return thread;
    });

    private final Resolver resolver;
    private final Duration timeout;
    private final Duration minTtl;
    private final Duration maxTtl;
    private final Duration failureTtl;
    private final AsyncCache<String, Answer> cache;
    /** Zones with the subdomains of theirs that failed lately (at most {@link #ZONE_FAILURES} kept). */
    private final Cache<String, Set<String>> failingZones;
    static final int ZONE_FAILURES = 3;

    public DnsRecipientDomains(RecipientSettings settings) {
        this.timeout = settings.dnsTimeout();
        this.minTtl = settings.dnsMinTtl();
        this.maxTtl = settings.dnsMaxTtl();
        this.failureTtl = settings.dnsFailureTtl();
        this.resolver = resolver(settings);
        this.failingZones = Caffeine.newBuilder().maximumSize(10_000).expireAfterWrite(failureTtl).build();
        this.cache = Caffeine.newBuilder()
            .maximumSize(100_000)
            .expireAfter(new Expiry<String, Answer>() {
                @Override
                public long expireAfterCreate(String domain, Answer answer, long now) {
                    return answer.ttl().toNanos();
                }

                @Override
                public long expireAfterUpdate(String domain, Answer answer, long now, long current) {
                    return answer.ttl().toNanos();
                }

                @Override
                public long expireAfterRead(String domain, Answer answer, long now, long current) {
                    return current;
                }
            })
            .buildAsync();
    }

    /** The resolver of {@code dns.servers} (else /etc/resolv.conf) and {@code dns.timeout}, which other lookups of the server share too. */
    public static Resolver resolver(RecipientSettings settings) {
        ExtendedResolver resolver;
        if (settings.dnsServers().isEmpty()) {
            resolver = new ExtendedResolver();
        } else {
            resolver = new ExtendedResolver(settings.dnsServers().stream()
                .map(server -> new SimpleResolver(new java.net.InetSocketAddress(server.getHostString(), server.getPort())))
                .collect(Collectors.toList()));
        }
        // UDP loses packets: each server gets a second try within the check's budget.
        resolver.setTimeout(settings.dnsTimeout().dividedBy(2));
        resolver.setRetries(2);
        return resolver;
    }

    @Override
    public DomainVerdict check(String domain) {
        String key = domain.toLowerCase(java.util.Locale.ROOT);
        if (key.startsWith("[")) {
            return DomainVerdict.DELIVERABLE; // an address literal: nothing to look up
        }
        String zone = zoneOf(key);
        if (zone != null && cache.getIfPresent(key) == null) {
            Set<String> failed = failingZones.getIfPresent(zone);
            if (failed != null && failed.size() >= ZONE_FAILURES) {
                return DomainVerdict.TEMPORARY_FAILURE;
            }
        }
        CompletableFuture<Answer> answer = cache.get(key, (name, executor) -> lookUp(name));
        try {
            // The lookup ends itself within the timeout (a failure then): this only guards against a bug there.
            return answer.get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS).verdict();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return DomainVerdict.TEMPORARY_FAILURE;
        } catch (ExecutionException | TimeoutException e) {
            return DomainVerdict.TEMPORARY_FAILURE;
        }
    }

    private CompletableFuture<Answer> lookUp(String domain) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Name name;
        try {
            name = Name.fromString(domain, Name.root);
        } catch (TextParseException e) {
            return CompletableFuture.completedFuture(new Answer(DomainVerdict.NO_SUCH_DOMAIN, minTtl));
        }
        // Continuations run on Postino's own thread pool, never on dnsjava's I/O thread: sending
        // the next queries from inside its callback loses answers when several are under way.
        return query(name, Type.MX, deadline).thenComposeAsync(mx -> {
            if (mx.getRcode() == Rcode.NXDOMAIN) {
                return done(DomainVerdict.NO_SUCH_DOMAIN, negativeTtl(mx));
            }
            if (mx.getRcode() != Rcode.NOERROR) {
                return failed(domain, "MX lookup answered " + Rcode.string(mx.getRcode()));
            }
            List<MXRecord> exchanges = records(mx, Type.MX).stream().map(MXRecord.class::cast).collect(Collectors.toList());
            if (!exchanges.isEmpty()) {
                boolean onlyNull = exchanges.stream().allMatch(exchange -> exchange.getTarget().equals(Name.root));
                return done(onlyNull ? DomainVerdict.NULL_MX : DomainVerdict.DELIVERABLE, smallestTtl(exchanges));
            }
            // No MX: an A or AAAA record stands for one (RFC 5321 §5.1). One after the other: dnsjava
            // 3.5 was seen to lose one of two answers when both were asked for the same name at once.
            return addresses(name, Type.A, deadline).thenComposeAsync(a -> a.isPresent() ? done(DomainVerdict.DELIVERABLE, a.get())
                : addresses(name, Type.AAAA, deadline).thenApply(aaaa -> aaaa
                    .map(ttl -> new Answer(DomainVerdict.DELIVERABLE, ttl))
                    .orElseGet(() -> new Answer(DomainVerdict.NO_MAIL_SERVER, negativeTtl(mx)))), CONTINUATIONS);
        }, CONTINUATIONS).orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).exceptionally(error -> {
            Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null ? error.getCause() : error;
            String why = cause instanceof TimeoutException ? "no answer within " + timeout.toMillis() + " ms" : String.valueOf(cause.getMessage());
            return failure(domain, why);
        });
    }

    /**
     * The zone a subdomain's failure counts for: the registrable domain (public suffix list),
     * else the parent domain if it has two labels or more; null for a registrable domain itself,
     * which its own cache entry covers.
     */
    static String zoneOf(String domain) {
        try {
            InternetDomainName name = InternetDomainName.from(domain);
            String zone;
            if (name.isUnderPublicSuffix()) {
                zone = name.topPrivateDomain().toString();
            } else if (name.parts().size() >= 3) {
                zone = name.parent().toString();
            } else {
                return null;
            }
            return zone.equals(domain) ? null : zone;
        } catch (IllegalArgumentException | IllegalStateException e) {
            return null;
        }
    }

    /** The TTL of the records of this type, or empty when there are none. */
    private CompletableFuture<Optional<Duration>> addresses(Name name, int type, long deadline) {
        return query(name, type, deadline).thenApply(response -> {
            if (response.getRcode() != Rcode.NOERROR) {
                throw new IllegalStateException(Type.string(type) + " lookup answered " + Rcode.string(response.getRcode()));
            }
            List<Record> records = records(response, type);
            return records.isEmpty() ? Optional.empty() : Optional.of(smallestTtl(records));
        });
    }

    /** One query, given what is left of the check's budget. */
    private CompletableFuture<Message> query(Name name, int type, long deadline) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            return CompletableFuture.failedFuture(new TimeoutException());
        }
        Message query = Message.newQuery(Record.newRecord(name, type, DClass.IN));
        return resolver.sendAsync(query).toCompletableFuture().orTimeout(left, TimeUnit.NANOSECONDS);
    }

    private static List<Record> records(Message response, int type) {
        return response.getSection(Section.ANSWER).stream().filter(record -> record.getType() == type).collect(Collectors.toList());
    }

    private Duration smallestTtl(List<? extends Record> records) {
        return bounded(Duration.ofSeconds(records.stream().mapToLong(Record::getTTL).min().orElse(0)));
    }

    /** RFC 2308: a negative answer lives for the smaller of the SOA's TTL and its minimum field. */
    private Duration negativeTtl(Message response) {
        return response.getSection(Section.AUTHORITY).stream()
            .filter(SOARecord.class::isInstance)
            .map(SOARecord.class::cast)
            .findFirst()
            .map(soa -> bounded(Duration.ofSeconds(Math.min(soa.getTTL(), soa.getMinimum()))))
            .orElse(minTtl);
    }

    private Duration bounded(Duration ttl) {
        return ttl.compareTo(minTtl) < 0 ? minTtl : ttl.compareTo(maxTtl) > 0 ? maxTtl : ttl;
    }

    private static CompletableFuture<Answer> done(DomainVerdict verdict, Duration ttl) {
        return CompletableFuture.completedFuture(new Answer(verdict, ttl));
    }

    private CompletableFuture<Answer> failed(String domain, String why) {
        return CompletableFuture.completedFuture(failure(domain, why));
    }

    /** Logged once per domain and {@code dns.failureTtl}: the checks meanwhile get it from the cache. */
    private Answer failure(String domain, String why) {
        LOGGER.info("DNS lookup of {} failed: {} (remembered for {} s)", LogSafe.of(domain), why, failureTtl.toSeconds());
        String zone = zoneOf(domain);
        if (zone != null && !failureTtl.isZero()) {
            failingZones.asMap().compute(zone, (any, failed) -> {
                Set<String> now = new java.util.HashSet<>(failed == null ? Set.of() : failed);
                if (now.size() < ZONE_FAILURES) {
                    now.add(domain);
                }
                if (now.size() >= ZONE_FAILURES && (failed == null || failed.size() < ZONE_FAILURES)) {
                    LOGGER.info("DNS lookups of {} subdomains of {} failed: its further subdomains fail at once for {} s",
                        ZONE_FAILURES, LogSafe.of(zone), failureTtl.toSeconds());
                }
                return now;
            });
        }
        return new Answer(DomainVerdict.TEMPORARY_FAILURE, failureTtl);
    }
}
