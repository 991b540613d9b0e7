package io.postino.server.recipients;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import org.apache.commons.configuration2.Configuration;
import org.apache.james.util.DurationParser;

/**
 * {@code conf/recipients.properties}: how recipients are checked at RCPT TO. Read at start-up;
 * conf/README.md describes every key.
 *
 * <ul>
 *   <li>{@code dns.check}: look up the domain of outbound recipients (MX, else A/AAAA) and refuse
 *   those that cannot receive mail; default {@code true}.</li>
 *   <li>{@code dns.servers}: comma-separated {@code host} or {@code host:port}; empty (default):
 *   the system's resolvers (/etc/resolv.conf).</li>
 *   <li>{@code dns.timeout}: the whole check of one domain (MX, then A and AAAA), at most
 *   {@code 30s}; default {@code 5s}.</li>
 *   <li>{@code dns.minTtl}, {@code dns.maxTtl}: answers are cached for their DNS TTL, kept within
 *   these bounds; defaults {@code 1m} and {@code 1h}.</li>
 *   <li>{@code dns.failureTtl}: how long a timeout or a DNS failure (SERVFAIL, REFUSED) is
 *   remembered, so that RCPTs meanwhile are answered at once; default {@code 30s}.</li>
 *   <li>{@code callout.timeout}: the whole probe of a relay domain's server, default {@code 10s}.</li>
 *   <li>{@code callout.positiveTtl}, {@code callout.negativeTtl}: how long an accepted or refused
 *   recipient is remembered; defaults {@code 1h} and {@code 10m}. Unknown answers are not kept.</li>
 *   <li>{@code callout.sender}: the probe's MAIL FROM; empty (default): the null sender {@code <>}.</li>
 *   <li>{@code suppression.cacheTtl}: how long a node remembers a suppression lookup; changes made
 *   on this node apply at once, those of other nodes within this time; default {@code 30s}.</li>
 * </ul>
 */
public record RecipientSettings(boolean dnsCheck, List<InetSocketAddress> dnsServers, Duration dnsTimeout, Duration dnsMinTtl,
                                Duration dnsMaxTtl, Duration dnsFailureTtl, Duration calloutTimeout, Duration calloutPositiveTtl,
                                Duration calloutNegativeTtl, Optional<String> calloutSender, Duration suppressionCacheTtl) {
    public static final String FILE = "recipients.properties";
    /** A lookup holds a thread of the SMTP lookup pool for this long at most. */
    static final Duration MAX_DNS_TIMEOUT = Duration.ofSeconds(30);

    /** @throws IllegalArgumentException naming the key and what is wrong (the caller names the file) */
    public static RecipientSettings from(Configuration properties) {
        String check = properties.getString("dns.check", "true").trim().toLowerCase(Locale.ROOT);
        if (!check.equals("true") && !check.equals("false")) {
            throw new IllegalArgumentException("dns.check must be true or false, got '" + check + "'");
        }
        Duration minTtl = duration(properties, "dns.minTtl", "1m", true);
        Duration maxTtl = duration(properties, "dns.maxTtl", "1h", true);
        if (maxTtl.compareTo(minTtl) < 0) {
            throw new IllegalArgumentException("dns.maxTtl (" + maxTtl + ") must not be shorter than dns.minTtl (" + minTtl + ")");
        }
        Duration dnsTimeout = duration(properties, "dns.timeout", "5s", false);
        if (dnsTimeout.compareTo(MAX_DNS_TIMEOUT) > 0) {
            throw new IllegalArgumentException("dns.timeout must be at most " + MAX_DNS_TIMEOUT.toSeconds() + "s (each RCPT waits for it), got '"
                + properties.getString("dns.timeout").trim() + "'");
        }
        String sender = properties.getString("callout.sender", "").trim();
        if (!sender.isEmpty() && !sender.matches("[^@\\s<>]+@[^@\\s<>]+")) {
            throw new IllegalArgumentException("callout.sender must be an address such as verify@relay.example.com or empty, got '" + sender + "'");
        }
        return new RecipientSettings(check.equals("true"), servers(properties.getString("dns.servers", "")),
            dnsTimeout, minTtl, maxTtl, duration(properties, "dns.failureTtl", "30s", true),
            duration(properties, "callout.timeout", "10s", false),
            duration(properties, "callout.positiveTtl", "1h", true),
            duration(properties, "callout.negativeTtl", "10m", true),
            sender.isEmpty() ? Optional.empty() : Optional.of(sender),
            duration(properties, "suppression.cacheTtl", "30s", true));
    }

    private static List<InetSocketAddress> servers(String value) {
        List<InetSocketAddress> servers = new ArrayList<>();
        for (String entry : value.split(",")) {
            String server = entry.trim();
            if (server.isEmpty()) {
                continue;
            }
            int colon = server.lastIndexOf(':');
            String host = server;
            int port = 53;
            if (colon > 0 && server.indexOf(':') == colon) {
                host = server.substring(0, colon);
                try {
                    port = Integer.parseInt(server.substring(colon + 1));
                } catch (NumberFormatException e) {
                    port = -1;
                }
            }
            if (port < 1 || port > 65535 || host.isEmpty()) {
                throw new IllegalArgumentException("dns.servers must list host or host:port entries separated by commas, got '" + server + "'");
            }
            servers.add(InetSocketAddress.createUnresolved(host, port));
        }
        return List.copyOf(servers);
    }

    private static Duration duration(Configuration properties, String key, String fallback, boolean zeroAllowed) {
        String raw = properties.getString(key, fallback).trim();
        Duration duration;
        try {
            duration = DurationParser.parse(raw, ChronoUnit.SECONDS);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(key + " must be a duration such as 500ms, 10s or 1h, got '" + raw + "'");
        }
        if (duration.isNegative() || (!zeroAllowed && duration.isZero())) {
            throw new IllegalArgumentException(key + " must be " + (zeroAllowed ? "zero or more" : "positive") + ", got '" + raw + "'");
        }
        return duration;
    }
}
