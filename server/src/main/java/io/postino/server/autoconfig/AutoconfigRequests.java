package io.postino.server.autoconfig;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * What the autoconfiguration listener answers to each request (the HTTP part is
 * {@link AutoconfigServer}'s):
 *
 * <table>
 *   <caption>Requests</caption>
 *   <tr><td>GET</td><td>{@code /.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=<address>},
 *   {@code /mail/config-v1.1.xml?emailaddress=<address>} (as {@code autoconfig.<domain>}; without
 *   {@code emailaddress}, the domain of that name)</td><td>Thunderbird's document</td></tr>
 *   <tr><td>POST</td><td>{@code /autodiscover/autodiscover.xml} (any case)</td><td>Outlook's POX answer</td></tr>
 *   <tr><td>GET</td><td>{@code /apple/<address>.mobileconfig}</td><td>an Apple profile</td></tr>
 * </table>
 *
 * An address whose domain no organisation owns (or that may not be named by the host the
 * request came to, see {@link AutoconfigDirectory}) gets 404; a malformed request 400, each with
 * a sentence that says why.
 */
final class AutoconfigRequests {
    /** Larger than any autodiscover request a client sends (about 400 octets). */
    static final int MAX_REQUEST_BODY = 16 * 1024;
    private static final String APPLE_PREFIX = "/apple/";
    private static final String APPLE_SUFFIX = ".mobileconfig";

    /** An HTTP answer: status, content type, body and extra headers. */
    record Answer(int status, String contentType, byte[] body, Map<String, String> headers) {
        static Answer text(int status, String message) {
            return new Answer(status, "text/plain; charset=utf-8", (message + "\n").getBytes(StandardCharsets.UTF_8), Map.of());
        }

        static Answer document(String contentType, byte[] body) {
            return new Answer(200, contentType, body, Map.of());
        }
    }

    private final AutoconfigDirectory directory;

    AutoconfigRequests(AutoconfigDirectory directory) {
        this.directory = directory;
    }

    /**
     * @param path the decoded request path
     * @param parameter a query parameter by name
     * @param host the name the client reached the server by ({@code Host}, without port)
     * @param body the request body (read only for autodiscover)
     */
    Answer answer(String method, String path, Function<String, String> parameter, String host, InputStream body) throws IOException {
        if (path.equals("/.well-known/autoconfig/mail/config-v1.1.xml") || path.equals("/mail/config-v1.1.xml")) {
            if (!isGet(method)) {
                return methodNotAllowed("GET");
            }
            return thunderbird(Optional.ofNullable(parameter.apply("emailaddress")), host);
        }
        if (path.toLowerCase(Locale.ROOT).equals("/autodiscover/autodiscover.xml")) {
            if (!method.equals("POST")) {
                return methodNotAllowed("POST");
            }
            return autodiscover(body, host);
        }
        if (path.startsWith(APPLE_PREFIX) && path.endsWith(APPLE_SUFFIX) && path.length() > APPLE_PREFIX.length() + APPLE_SUFFIX.length()) {
            if (!isGet(method)) {
                return methodNotAllowed("GET");
            }
            return apple(path.substring(APPLE_PREFIX.length(), path.length() - APPLE_SUFFIX.length()), host);
        }
        return Answer.text(404, "Nothing here. Postino serves /.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=..., "
            + "/mail/config-v1.1.xml, POST /autodiscover/autodiscover.xml and /apple/<address>.mobileconfig");
    }

    private Answer thunderbird(Optional<String> address, String host) {
        Optional<ClientSettings> settings;
        if (address.isPresent() && !address.get().isBlank()) {
            try {
                settings = directory.forAddress(address.get(), host);
            } catch (AutoconfigDirectory.BadRequest e) {
                return Answer.text(400, "emailaddress: " + e.getMessage());
            }
        } else {
            Optional<String> domain = directory.domainOfHost(host);
            if (domain.isEmpty()) {
                return Answer.text(400, "Give the address: ?emailaddress=<local-part@domain>");
            }
            settings = directory.forDomain(domain.get(), host);
        }
        return settings.map(found -> Answer.document("application/xml; charset=utf-8", ThunderbirdConfig.document(found)))
            .orElseGet(() -> unknown(address.orElse(host)));
    }

    private Answer autodiscover(InputStream body, String host) throws IOException {
        byte[] request = body.readNBytes(MAX_REQUEST_BODY + 1);
        if (request.length > MAX_REQUEST_BODY) {
            return Answer.text(413, "An autodiscover request is at most " + MAX_REQUEST_BODY + " bytes");
        }
        try {
            String address = OutlookAutodiscover.requestedAddress(new java.io.ByteArrayInputStream(request));
            return directory.forAddress(address, host)
                .map(found -> Answer.document("text/xml; charset=utf-8", OutlookAutodiscover.response(found)))
                .orElseGet(() -> unknown(address));
        } catch (AutoconfigDirectory.BadRequest e) {
            return Answer.text(400, e.getMessage());
        }
    }

    private Answer apple(String address, String host) {
        Optional<ClientSettings> settings;
        try {
            settings = directory.forAddress(address, host);
        } catch (AutoconfigDirectory.BadRequest e) {
            return Answer.text(400, e.getMessage());
        }
        if (settings.isEmpty()) {
            return unknown(address);
        }
        if (settings.get().mailbox().isEmpty()) {
            return Answer.text(404, "Organisation '" + settings.get().organisation().id() + "' declares no mailbox server"
                + " (organisations.xml <mailboxServer>), and an Apple Mail account needs an incoming server");
        }
        if (settings.get().submissions().isEmpty()) {
            return Answer.text(404, "smtpserver.xml has no submission listener (AUTH required, with TLS) to configure");
        }
        return new Answer(200, AppleMobileconfig.CONTENT_TYPE, AppleMobileconfig.profile(settings.get()),
            Map.of("Content-Disposition", "attachment; filename=\"" + settings.get().domain() + ".mobileconfig\""));
    }

    private static Answer unknown(String what) {
        return Answer.text(404, "No mail settings for '" + AutoconfigDirectory.printable(what) + "': its domain is not one this server sends for");
    }

    private static boolean isGet(String method) {
        return method.equals("GET") || method.equals("HEAD");
    }

    private static Answer methodNotAllowed(String allowed) {
        return new Answer(405, "text/plain; charset=utf-8", ("Use " + allowed + "\n").getBytes(StandardCharsets.UTF_8), Map.of("Allow",
            allowed.equals("GET") ? "GET, HEAD" : allowed));
    }
}
