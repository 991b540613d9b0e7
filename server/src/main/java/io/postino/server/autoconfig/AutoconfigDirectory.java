package io.postino.server.autoconfig;

import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

import javax.inject.Inject;

import org.apache.james.smtpserver.netty.SMTPServerFactory;

import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.server.smtp.listener.PostinoSmtpServer;

/**
 * Answers "how does this address send mail?" from what Postino already knows: the organisation
 * owning the address's domain (organisations.xml, as reloaded), {@code POSTINO_HOSTNAME}, and the
 * submission listeners of smtpserver.xml (enabled, with {@code RequireAuthentication} in their
 * chain, and TLS: STARTTLS or implicit).
 *
 * <p>A request that reached Postino as {@code autoconfig.<domain>}, {@code autodiscover.<domain>}
 * or {@code <domain>} of an organisation is answered only for that organisation's domains: the
 * name one organisation publishes does not tell who else sends through this server. Reached by
 * any other name (Postino's own host name, as an SRV record leads Outlook), every organisation's
 * domain is answered.</p>
 */
public class AutoconfigDirectory {
    private static final Pattern DOMAIN = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+");
    private static final List<String> SERVICE_PREFIXES = List.of("autoconfig.", "autodiscover.");

    private final Organisations organisations;
    private final SMTPServerFactory smtpServers;
    private final String hostname;

    @Inject
    public AutoconfigDirectory(Organisations organisations, SMTPServerFactory smtpServers) {
        this(organisations, smtpServers, System.getProperty("postino.hostname", "localhost"));
    }

    AutoconfigDirectory(Organisations organisations, SMTPServerFactory smtpServers, String hostname) {
        this.organisations = organisations;
        this.smtpServers = smtpServers;
        this.hostname = hostname.toLowerCase(Locale.ROOT);
    }

    /** A request Postino cannot read: a message for the client (HTTP 400). */
    public static final class BadRequest extends Exception {
        BadRequest(String message) {
            super(message);
        }
    }

    public String hostname() {
        return hostname;
    }

    /** The submission listeners of smtpserver.xml, implicit TLS first, then by port. */
    public List<SubmissionListener> submissions() {
        return smtpServers.getServers().stream()
            .filter(PostinoSmtpServer.class::isInstance)
            .map(PostinoSmtpServer.class::cast)
            .filter(server -> server.isEnabled() && server.requiresAuthentication() && (server.implicitTls() || server.startTls()))
            .map(server -> new SubmissionListener(server.getPort(), server.implicitTls()))
            .distinct()
            .sorted(Comparator.comparing((SubmissionListener listener) -> !listener.implicitTls()).thenComparingInt(SubmissionListener::port))
            .toList();
    }

    /**
     * @param address an e-mail address as a client sent it
     * @param requestHost the name the client reached Postino by (the {@code Host} header)
     * @return the settings, or empty when no organisation (that may be named here) owns its domain
     * @throws BadRequest when {@code address} is not an e-mail address
     */
    public Optional<ClientSettings> forAddress(String address, String requestHost) throws BadRequest {
        String normalised = address.trim().toLowerCase(Locale.ROOT);
        int at = normalised.lastIndexOf('@');
        if (at <= 0 || normalised.indexOf('@') != at || normalised.length() > 254
            || normalised.chars().anyMatch(c -> c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '\\' || c == '/')) {
            throw new BadRequest("'" + printable(address) + "' is not an e-mail address (local-part@domain, ASCII)");
        }
        return settings(normalised.substring(at + 1), Optional.of(normalised), requestHost);
    }

    /** As {@link #forAddress} for a client that gave only the domain (the {@code autoconfig.<domain>} name). */
    public Optional<ClientSettings> forDomain(String domain, String requestHost) {
        return settings(domain.toLowerCase(Locale.ROOT), Optional.empty(), requestHost);
    }

    /** The domain in a {@code autoconfig.<domain>}-style request host, if it is an organisation's. */
    public Optional<String> domainOfHost(String requestHost) {
        String host = normaliseHost(requestHost);
        for (String prefix : SERVICE_PREFIXES) {
            if (host.startsWith(prefix) && organisations.current().owningDomain(host.substring(prefix.length())).isPresent()) {
                return Optional.of(host.substring(prefix.length()));
            }
        }
        return organisations.current().owningDomain(host).isPresent() ? Optional.of(host) : Optional.empty();
    }

    private Optional<ClientSettings> settings(String domain, Optional<String> address, String requestHost) {
        if (!DOMAIN.matcher(domain).matches()) {
            return Optional.empty();
        }
        Optional<Organisation> organisation = organisations.current().owningDomain(domain);
        if (organisation.isEmpty()) {
            return Optional.empty();
        }
        Optional<Organisation> reachedAs = domainOfHost(requestHost).flatMap(organisations.current()::owningDomain);
        if (reachedAs.isPresent() && !reachedAs.get().id().equals(organisation.get().id())) {
            return Optional.empty();
        }
        return Optional.of(new ClientSettings(hostname, organisation.get(), domain, address, submissions(), organisation.get().mailboxServer()));
    }

    private static String normaliseHost(String requestHost) {
        String host = requestHost == null ? "" : requestHost.trim().toLowerCase(Locale.ROOT);
        return host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
    }

    /** For messages: at most 100 characters, nothing outside printable ASCII. */
    static String printable(String text) {
        String cut = text.length() > 100 ? text.substring(0, 100) + "..." : text;
        return cut.replaceAll("[^\\x20-\\x7e]", "?");
    }
}
