package io.postino.server.dkim;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import javax.inject.Inject;

import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

import io.postino.dkim.DkimKey;
import io.postino.server.recipients.DnsRecipientDomains;
import io.postino.server.recipients.RecipientSettings;

/**
 * Does DNS already show a DKIM key? Asks the server's DNS (recipients.properties
 * {@code dns.servers}, else /etc/resolv.conf, within {@code dns.timeout}) for the TXT record at
 * {@code <selector>._domainkey.<domain>}, without caching, so that a record just published shows
 * at once (as far as the resolver's own cache allows). The keys of a listing are looked up at the
 * same time, so a DNS that does not answer delays it by {@code dns.timeout} once, not once per key.
 * <ul>
 *   <li>{@code published}: a TXT record there has the key's {@code p=} value;</li>
 *   <li>{@code different}: there are TXT records, none with this key (an older key, a typo, a
 *   record cut in two strings the wrong way);</li>
 *   <li>{@code missing}: the name does not exist or has no TXT record;</li>
 *   <li>{@code unknown}: DNS did not answer (a timeout, SERVFAIL): the cause is in {@link State#detail}.</li>
 * </ul>
 */
public class DkimPublication {
    public enum Outcome { PUBLISHED, DIFFERENT, MISSING, UNKNOWN }

    /** What DNS showed: the outcome and, unless published, what was found instead. */
    public record State(Outcome outcome, Optional<String> detail) {
        public String configName() {
            return outcome.name().toLowerCase(Locale.ROOT);
        }
    }

    private final Resolver resolver;
    private final Duration timeout;

    @Inject
    public DkimPublication(RecipientSettings settings) {
        this(DnsRecipientDomains.resolver(settings), settings.dnsTimeout());
    }

    DkimPublication(Resolver resolver, Duration timeout) {
        this.resolver = resolver;
        this.timeout = timeout;
    }

    public State check(DkimKey key) {
        return checkAll(List.of(key)).get(0);
    }

    /** The keys' states, in their order, looked up at once: the whole listing waits {@code dns.timeout} at most. */
    public List<State> checkAll(List<DkimKey> keys) {
        List<CompletableFuture<State>> lookups = keys.stream().map(this::lookUp).toList();
        return lookups.stream().map(CompletableFuture::join).toList();
    }

    private CompletableFuture<State> lookUp(DkimKey key) {
        Name name;
        try {
            name = Name.fromString(key.dnsName(), Name.root);
        } catch (TextParseException e) {
            return CompletableFuture.completedFuture(new State(Outcome.UNKNOWN, Optional.of("not a DNS name: " + key.dnsName())));
        }
        return resolver.sendAsync(Message.newQuery(Record.newRecord(name, Type.TXT, DClass.IN))).toCompletableFuture()
            .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
            .thenApply(response -> state(key, name, response))
            .exceptionally(error -> {
                Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
                String why = cause instanceof TimeoutException ? "no answer within " + timeout.toMillis() + " ms" : String.valueOf(cause.getMessage());
                return new State(Outcome.UNKNOWN, Optional.of("no answer from DNS: " + why));
            });
    }

    private static State state(DkimKey key, Name name, Message response) {
        int rcode = response.getRcode();
        if (rcode == Rcode.NXDOMAIN) {
            return new State(Outcome.MISSING, Optional.empty());
        }
        if (rcode != Rcode.NOERROR) {
            return new State(Outcome.UNKNOWN, Optional.of("DNS answered " + Rcode.string(rcode)));
        }
        // A selector delegated by CNAME (to an ESP's zone, say) is answered with the CNAME chain
        // and the TXT record at its end: follow the chain within the answer.
        Name owner = name;
        for (int hops = 0; hops < 8; hops++) {
            Name from = owner;
            Optional<Name> target = response.getSection(Section.ANSWER).stream()
                .filter(record -> record instanceof org.xbill.DNS.CNAMERecord && record.getName().equals(from))
                .map(record -> ((org.xbill.DNS.CNAMERecord) record).getTarget()).findFirst();
            if (target.isEmpty()) {
                break;
            }
            owner = target.get();
        }
        List<String> found = new ArrayList<>();
        for (Record record : response.getSection(Section.ANSWER)) {
            if (record instanceof TXTRecord txt && txt.getName().equals(owner)) {
                found.add(String.join("", txt.getStrings()));
            }
        }
        if (found.isEmpty()) {
            return new State(Outcome.MISSING, Optional.empty());
        }
        Optional<String> wanted = publicKey(key.txtRecord());
        if (wanted.isPresent() && found.stream().map(DkimPublication::publicKey).anyMatch(wanted::equals)) {
            return new State(Outcome.PUBLISHED, Optional.empty());
        }
        return new State(Outcome.DIFFERENT, Optional.of(String.join(" | ", found)));
    }

    /** The {@code p=} tag of a DKIM key record, white space removed (RFC 6376 §3.6.1 allows folding). */
    static Optional<String> publicKey(String record) {
        for (String tag : record.split(";")) {
            String trimmed = tag.strip();
            if (trimmed.startsWith("p=")) {
                String value = trimmed.substring(2).replaceAll("\\s+", "");
                return value.isEmpty() ? Optional.empty() : Optional.of(value);
            }
        }
        return Optional.empty();
    }
}
