package io.postino.server.webadmin;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

import spark.Request;
import spark.Response;

/**
 * Where WebAdmin may be called from and by which name.
 *
 * <ul>
 *   <li>The web origins allowed to call it from a browser ({@code postino.allowedOrigins} in
 *   {@code webadmin.properties}, comma-separated, e.g. {@code https://console.example.com}); none
 *   by default, so no CORS header is ever sent and no preflight is answered.</li>
 *   <li>The names a request may give in {@code Host}: {@code 127.0.0.1}, {@code localhost},
 *   {@code [::1]}, the configured {@code host} and the address the connection came in on, each
 *   with WebAdmin's port; and the host of an allowed origin. Any other name is a page whose name
 *   was made to resolve to this machine (DNS rebinding): to the browser it is the page's own
 *   origin, so neither {@code Origin} nor {@code Sec-Fetch-Site} gives it away.</li>
 * </ul>
 */
public final class WebAdminOrigins {
    /**
     * Jetty (Spark's {@code ForwardedRequestCustomizer}) takes the Host, port and scheme of a
     * request from these when present, so a page could name WebAdmin's own host in one of them.
     */
    static final List<String> FORWARDING_HEADERS = List.of("Forwarded", "X-Forwarded-Host", "X-Forwarded-Server", "X-Forwarded-Port",
        "X-Forwarded-Proto", "X-Proxied-Https", "Proxy-Ssl-Id", "Proxy-auth-cert");
    private static final List<String> LOOPBACK = List.of("127.0.0.1", "localhost", "[::1]");

    private final List<String> allowed;
    private final Set<String> names;

    /**
     * @param allowed the allowed origins
     * @param host the address WebAdmin is bound to ({@code host} of {@code webadmin.properties})
     */
    public WebAdminOrigins(List<String> allowed, String host) {
        this.allowed = allowed.stream().map(WebAdminOrigins::normalise).toList();
        Set<String> own = new HashSet<>();
        LOOPBACK.forEach(name -> own.add(canonical(name)));
        String bound = host == null ? "" : host.trim();
        if (bound.contains(":") && !bound.startsWith("[")) {
            bound = "[" + bound + "]";
        }
        if (!bound.isEmpty() && !isWildcard(bound)) {
            own.add(canonical(bound));
        }
        this.names = Set.copyOf(own);
    }

    public static WebAdminOrigins parse(String value, String host) {
        if (value == null || value.isBlank()) {
            return new WebAdminOrigins(List.of(), host);
        }
        List<String> origins = List.of(value.split(",")).stream().map(String::trim).filter(origin -> !origin.isEmpty()).toList();
        for (String origin : origins) {
            URI uri = URI.create(origin);
            if (uri.getScheme() == null || uri.getHost() == null || !(uri.getPath() == null || uri.getPath().isEmpty())) {
                throw new IllegalArgumentException("postino.allowedOrigins: '" + origin + "' is not an origin such as https://console.example.com");
            }
        }
        return new WebAdminOrigins(origins, host);
    }

    boolean allowed(String origin) {
        return allowed.contains(normalise(origin));
    }

    boolean any() {
        return !allowed.isEmpty();
    }

    /** Whether the {@code Host} of the request names WebAdmin itself or the host of an allowed origin. */
    boolean isOwnHost(Request request) {
        return isOwnHost(request.raw().getHeader("Host"), request.raw().isSecure(), request.raw().getLocalPort(), request.raw().getLocalAddr());
    }

    /**
     * @param value the Host header, or null
     * @param localPort the port the connection came in on (WebAdmin's)
     * @param localAddress the address the connection came in on
     */
    boolean isOwnHost(String value, boolean secure, int localPort, String localAddress) {
        if (value == null) {
            // HTTP/1.0 without Host: no browser sends that, and no name was rebound.
            return true;
        }
        Optional<Authority> host = Authority.parse(value, secure ? 443 : 80);
        if (host.isEmpty()) {
            return false;
        }
        if (host.get().port() == localPort
            && (names.contains(host.get().name()) || host.get().name().equals(canonical(bracketed(localAddress))))) {
            return true;
        }
        return allowed.stream().map(WebAdminOrigins::authorityOf).flatMap(Optional::stream)
            .anyMatch(origin -> origin.name().equals(host.get().name()) && (!host.get().explicitPort() || origin.port() == host.get().port()));
    }

    /** A browser page of WebAdmin itself: its origin is the scheme, host and port the request was sent to. */
    boolean isOwn(String origin, Request request) {
        String host = request.raw().getHeader("Host");
        if (host == null) {
            return false;
        }
        String scheme = request.raw().isSecure() ? "https" : "http";
        Optional<Authority> own = Authority.parse(host, request.raw().isSecure() ? 443 : 80);
        Optional<Authority> page = authorityOf(origin).filter(authority -> origin.trim().toLowerCase(Locale.ROOT).startsWith(scheme + "://"));
        return own.isPresent() && page.isPresent() && own.get().name().equals(page.get().name()) && own.get().port() == page.get().port();
    }

    void allow(String origin, Response response) {
        response.raw().setHeader("Access-Control-Allow-Origin", origin);
        response.raw().setHeader("Vary", "Origin");
    }

    private static Optional<Authority> authorityOf(String origin) {
        try {
            URI uri = URI.create(origin.trim());
            if (uri.getScheme() == null || uri.getRawAuthority() == null) {
                return Optional.empty();
            }
            String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https")) {
                return Optional.empty();
            }
            return Authority.parse(uri.getRawAuthority(), scheme.equals("https") ? 443 : 80);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** A host name (lower case; an address in its canonical form, IPv6 in brackets) and port. */
    private record Authority(String name, int port, boolean explicitPort) {
        static Optional<Authority> parse(String value, int defaultPort) {
            String text = value.trim().toLowerCase(Locale.ROOT);
            String name;
            String port;
            if (text.startsWith("[")) {
                int end = text.indexOf(']');
                if (end < 0) {
                    return Optional.empty();
                }
                name = text.substring(0, end + 1);
                String rest = text.substring(end + 1);
                if (!rest.isEmpty() && !rest.startsWith(":")) {
                    return Optional.empty();
                }
                port = rest.isEmpty() ? null : rest.substring(1);
            } else {
                int colon = text.indexOf(':');
                if (colon != text.lastIndexOf(':')) {
                    return Optional.empty();
                }
                name = colon < 0 ? text : text.substring(0, colon);
                port = colon < 0 ? null : text.substring(colon + 1);
            }
            if (name.isEmpty() || text.contains("@") || (port != null && !port.matches("[0-9]{1,5}"))) {
                return Optional.empty();
            }
            return Optional.of(new Authority(canonical(name), port == null ? defaultPort : Integer.parseInt(port), port != null));
        }
    }

    /** An IPv4 or bracketed IPv6 address in one spelling ({@code [0:0:0:0:0:0:0:1]} is {@code [::1]}); a name as it is. */
    private static String canonical(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        try {
            if (lower.matches("\\[[0-9a-f:.]*:[0-9a-f:.]*]")) {
                // In brackets, InetAddress reads a literal or fails: it never asks DNS.
                return "[" + InetAddress.getByName(lower).getHostAddress() + "]";
            }
            if (lower.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}")) {
                StringBuilder address = new StringBuilder();
                for (String octet : lower.split("\\.")) {
                    int value = Integer.parseInt(octet);
                    if (value > 255) {
                        return lower;
                    }
                    address.append(address.length() == 0 ? "" : ".").append(value);
                }
                return address.toString();
            }
        } catch (UnknownHostException | IllegalArgumentException e) {
            // not an address after all: compared as it is
        }
        return lower;
    }

    private static String bracketed(String address) {
        return address != null && address.contains(":") && !address.startsWith("[") ? "[" + address + "]" : String.valueOf(address);
    }

    private static boolean isWildcard(String host) {
        return host.equals("0.0.0.0") || host.equals("[::]") || host.equals("[0:0:0:0:0:0:0:0]");
    }

    private static String normalise(String origin) {
        String lower = origin.trim().toLowerCase(Locale.ROOT);
        return lower.endsWith("/") ? lower.substring(0, lower.length() - 1) : lower;
    }
}
