package io.postino.organisations;

import io.postino.address.InternationalAddresses;

import java.util.Collections;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import javax.mail.internet.AddressException;
import javax.mail.internet.InternetAddress;

import org.apache.james.core.MaybeSender;
import org.apache.james.mime4j.dom.address.Mailbox;
import org.apache.james.mime4j.field.address.DefaultAddressParser;
import org.apache.james.mime4j.field.address.ParseException;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

/**
 * Who may send as whom. The SMTP hooks and the {@code RejectUnauthorisedSender} mailet both ask
 * these rules, so mail is judged the same whichever way it entered.
 *
 * <ul>
 *   <li>An authenticated user belongs to the organisation owning its login's domain; a user of no
 *   organisation sends nothing. Policy {@code exact}: MAIL FROM is the login or an address allowed
 *   to that user; policy {@code domain}: any address in the organisation's domains.</li>
 *   <li>A host in an organisation's trusted network sends only from that organisation's domains.</li>
 *   <li>A host in the listener's {@code authorizedAddresses} (the operator's own networks) sends
 *   for the organisation that owns the MAIL FROM domain.</li>
 *   <li>The null sender {@code <>} (bounces, read receipts, auto-replies) is accepted from a user
 *   or a trusted network, for their organisation; from the operator's networks it cannot be
 *   attributed and is refused.</li>
 *   <li>Any other client (the Internet) may not use an organisation's domain in MAIL FROM without
 *   logging in.</li>
 *   <li>The visible sender, every address of From: and of Sender:, must be in the organisation's
 *   domains (DMARC alignment), whatever the envelope.</li>
 * </ul>
 */
public final class SenderIdentity {
    /**
     * Header values already read, and what they read as: an application or a newsletter sends
     * thousands of mails with the same From:, each checked at DATA and again by the mailet, and one
     * reading takes two parsers (mime4j's allocates some 40 KB of buffers: a fifth of all the
     * allocation of the relay path in a JFR profile). Only values of a header line's length (998
     * characters) at most are kept, 4 M weight units of them in all (a value's characters and its
     * addresses', plus a fixed cost per entry), so that no client can make the cache big.
     */
    private static final int CACHED_LENGTH = 998;
    private static final Cache<String, Optional<Set<String>>> READ = Caffeine.newBuilder()
        .maximumWeight(4L << 20)
        .weigher((String value, Optional<Set<String>> addresses) -> value.length() + 64
            + addresses.map(found -> found.stream().mapToInt(address -> address.length() + 48).sum()).orElse(0))
        .build();

    private SenderIdentity() {
    }

    /**
     * Allowed, for an organisation (or for none: mail from the Internet); or refused, with a
     * sentence for the client, possibly because only an authenticated client may do it.
     */
    public static final class Verdict {
        private final Organisation organisation;
        private final String refusal;
        private final boolean requiresAuthentication;

        private Verdict(Organisation organisation, String refusal, boolean requiresAuthentication) {
            this.organisation = organisation;
            this.refusal = refusal;
            this.requiresAuthentication = requiresAuthentication;
        }

        static Verdict allowed(Organisation organisation) {
            return new Verdict(organisation, null, false);
        }

        static Verdict refused(String refusal) {
            return new Verdict(null, refusal, false);
        }

        /** Refused unless the client logs in. */
        public boolean requiresAuthentication() {
            return requiresAuthentication;
        }

        public boolean isAllowed() {
            return refusal == null;
        }

        /** Present when allowed for an organisation. */
        public Optional<Organisation> organisation() {
            return Optional.ofNullable(organisation);
        }

        /** Present when refused. */
        public Optional<String> refusal() {
            return Optional.ofNullable(refusal);
        }
    }

    public static Verdict forUser(OrganisationsConfig config, String login, MaybeSender sender) {
        Optional<Organisation> found = config.ofUser(login);
        if (found.isEmpty()) {
            return Verdict.refused("Login " + login + " is in no organisation's domain on this server, so it may not send mail;"
                + " ask the administrator to add its domain to an organisation");
        }
        Organisation organisation = found.get();
        if (sender.isNullSender()) {
            return Verdict.allowed(organisation);
        }
        String address = sender.get().asString().toLowerCase(Locale.ROOT);
        if (organisation.identityPolicy() == IdentityPolicy.EXACT) {
            if (address.equals(login.toLowerCase(Locale.ROOT)) || organisation.allowedAddressesOf(login).contains(address)) {
                return Verdict.allowed(organisation);
            }
            TreeSet<String> permitted = new TreeSet<>(organisation.allowedAddressesOf(login));
            permitted.add(login.toLowerCase(Locale.ROOT));
            return Verdict.refused(login + " may only send as " + String.join(", ", permitted) + ", not as " + address);
        }
        if (organisation.ownsDomain(sender.get().getDomain().asString())) {
            return Verdict.allowed(organisation);
        }
        return Verdict.refused(login + " may only send from the domains of organisation " + organisation.id()
            + " (" + domainList(organisation) + "), not as " + address);
    }

    public static Verdict forTrustedNetwork(Organisation organisation, MaybeSender sender) {
        if (sender.isNullSender() || organisation.ownsDomain(sender.get().getDomain().asString())) {
            return Verdict.allowed(organisation);
        }
        return Verdict.refused("Hosts in the trusted networks of organisation " + organisation.id()
            + " may only send from its domains (" + domainList(organisation) + "), not as " + sender.get().asString());
    }

    public static Verdict forSenderDomain(OrganisationsConfig config, MaybeSender sender) {
        if (sender.isNullSender()) {
            return Verdict.refused("A null sender <> from this network cannot be attributed to an organisation;"
                + " add the host to an organisation's trusted networks");
        }
        String domain = sender.get().getDomain().asString();
        return config.owningDomain(domain)
            .map(Verdict::allowed)
            .orElseGet(() -> Verdict.refused("Sender domain " + domain + " belongs to no organisation on this server"));
    }

    /**
     * A client that neither logged in nor is trusted (mail from the Internet for the served
     * domains) may use any sender except the domains of the organisations: those need AUTH.
     */
    public static Verdict forStranger(OrganisationsConfig config, MaybeSender sender) {
        if (sender.isNullSender()) {
            return Verdict.allowed(null);
        }
        String domain = sender.get().getDomain().asString();
        // A relay domain's addresses are the organisation's own mailboxes: the Internet may not use them either.
        return config.answeringFor(domain)
            .map(owner -> new Verdict(null, "Sender domain " + domain + " belongs to organisation " + owner.id()
                + " on this server; log in (SMTP AUTH) to send as it", true))
            .orElseGet(() -> Verdict.allowed(null));
    }

    /**
     * Checks the values of one header field (From: or Sender:, each occurrence). An absent field is
     * aligned: the envelope sender, already checked, stands for it. Values as JavaMail reads
     * received headers (one octet per char) are read as UTF-8 where they are (RFC 6532).
     */
    public static Verdict visibleSender(Organisation organisation, String headerName, String[] values) {
        if (values == null) {
            return Verdict.allowed(organisation);
        }
        for (String value : utf8(values)) {
            Optional<Set<String>> addresses = addressesOf(value);
            if (addresses.isEmpty()) {
                return Verdict.refused(headerName + ": header '" + value.strip() + "' cannot be parsed unambiguously, so its sender cannot be verified");
            }
            for (String address : addresses.get()) {
                int at = address.lastIndexOf('@');
                if (at < 0 || !organisation.ownsDomain(asciiDomain(address.substring(at + 1)))) {
                    return Verdict.refused(headerName + ": address " + address + " is not in a domain of organisation "
                        + organisation.id() + " (" + domainList(organisation) + "); the visible sender must align with the sending organisation");
                }
            }
        }
        return Verdict.allowed(organisation);
    }

    /**
     * The addresses of a header value as two independent parsers (JavaMail, strict; mime4j) read
     * them; empty when either fails or they disagree, since a receiver could read it the other way.
     */
    private static Optional<Set<String>> addressesOf(String value) {
        if (value.length() > CACHED_LENGTH) {
            return parse(value);
        }
        Optional<Set<String>> known = READ.getIfPresent(value);
        if (known == null) {
            // Parsed outside the cache's lock: a slow value holds up only its own session.
            known = parse(value);
            READ.put(value, known);
        }
        return known;
    }

    private static Optional<Set<String>> parse(String value) {
        String unfolded = value.replaceAll("\r?\n(?=[ \t])", "");
        String marker = markerAbsentFrom(unfolded);
        String ascii = asciiTokens(unfolded, marker);
        TreeSet<String> javaMail = new TreeSet<>();
        Set<String> mime4j = new TreeSet<>();
        try {
            for (InternetAddress address : InternetAddress.parseHeader(ascii, true)) {
                javaMail.add(address.getAddress() == null ? "" : restore(address.getAddress(), marker).toLowerCase(Locale.ROOT));
            }
            for (Mailbox mailbox : DefaultAddressParser.DEFAULT.parseAddressList(ascii).flatten()) {
                mime4j.add(restore(mailbox.getAddress(), marker).toLowerCase(Locale.ROOT));
            }
        } catch (AddressException | ParseException | RuntimeException e) {
            return Optional.empty();
        }
        return javaMail.equals(mime4j) ? Optional.of(Collections.unmodifiableSortedSet(javaMail)) : Optional.empty();
    }

    /**
     * JavaMail holds received header lines one octet per char; UTF-8 ones (RFC 6532) are read as
     * UTF-8, anything else as it is.
     */
    private static String[] utf8(String[] values) {
        if (values == null) {
            return null;
        }
        String[] decoded = new String[values.length];
        for (int i = 0; i < values.length; i++) {
            decoded[i] = values[i];
            if (values[i].chars().anyMatch(c -> c >= 0x80) && values[i].chars().allMatch(c -> c <= 0xff)) {
                try {
                    decoded[i] = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                        .decode(java.nio.ByteBuffer.wrap(values[i].getBytes(java.nio.charset.StandardCharsets.ISO_8859_1))).toString();
                } catch (java.nio.charset.CharacterCodingException e) {
                    // not UTF-8: left to the parsers as it is
                }
            }
        }
        return decoded;
    }

    /*
     * RFC 6532 allows UTF-8 wherever RFC 5322 allows atext, qtext, ctext or dtext; mime4j's
     * parser knows only ASCII. Both parsers read the value with each non-ASCII character as an
     * ASCII token of letters and digits (which stands where the character stands), and the
     * addresses get their characters back.
     */
    private static String markerAbsentFrom(String value) {
        String lower = value.toLowerCase(Locale.ROOT);
        String marker = "qzq";
        for (int n = 0; lower.contains(marker); n++) {
            marker = "qz" + n + "q";
        }
        return marker;
    }

    private static String asciiTokens(String value, String marker) {
        if (InternationalAddresses.isAscii(value)) {
            return value;
        }
        StringBuilder ascii = new StringBuilder(value.length() + 32);
        value.codePoints().forEach(c -> {
            if (c < 0x80) {
                ascii.append((char) c);
            } else {
                ascii.append(marker).append(String.format("%06x", c));
            }
        });
        return ascii.toString();
    }

    private static String restore(String address, String marker) {
        StringBuilder restored = new StringBuilder(address.length());
        int i = 0;
        while (i < address.length()) {
            int at = address.toLowerCase(Locale.ROOT).indexOf(marker, i);
            if (at < 0 || at + marker.length() + 6 > address.length()) {
                restored.append(address, i, address.length());
                break;
            }
            restored.append(address, i, at);
            restored.appendCodePoint(Integer.parseInt(address.substring(at + marker.length(), at + marker.length() + 6), 16));
            i = at + marker.length() + 6;
        }
        return restored.toString();
    }

    /** An IDN domain of an RFC 6532 header compares by its A-labels, as the envelope's do. */
    private static String asciiDomain(String domain) {
        try {
            return InternationalAddresses.asciiDomain(domain);
        } catch (IllegalArgumentException e) {
            return domain;
        }
    }

    private static String domainList(Organisation organisation) {
        return String.join(", ", new TreeSet<>(organisation.domains()));
    }
}
