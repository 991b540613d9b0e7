package io.postino.server.webadmin;

import java.net.URI;
import java.util.List;
import java.util.Locale;

import spark.Request;
import spark.Response;

/**
 * The web origins allowed to call WebAdmin from a browser ({@code postino.allowedOrigins} in
 * {@code webadmin.properties}, comma-separated, e.g. {@code https://console.example.com}); none
 * by default, so no CORS header is ever sent and no preflight is answered.
 */
public final class WebAdminOrigins {
    private final List<String> allowed;

    public WebAdminOrigins(List<String> allowed) {
        this.allowed = allowed.stream().map(WebAdminOrigins::normalise).toList();
    }

    public static WebAdminOrigins parse(String value) {
        if (value == null || value.isBlank()) {
            return new WebAdminOrigins(List.of());
        }
        List<String> origins = List.of(value.split(",")).stream().map(String::trim).filter(origin -> !origin.isEmpty()).toList();
        for (String origin : origins) {
            URI uri = URI.create(origin);
            if (uri.getScheme() == null || uri.getHost() == null || !(uri.getPath() == null || uri.getPath().isEmpty())) {
                throw new IllegalArgumentException("postino.allowedOrigins: '" + origin + "' is not an origin such as https://console.example.com");
            }
        }
        return new WebAdminOrigins(origins);
    }

    boolean allowed(String origin) {
        return allowed.contains(normalise(origin));
    }

    boolean any() {
        return !allowed.isEmpty();
    }

    /** A browser page of WebAdmin itself (the Host the request was sent to). */
    boolean isOwn(String origin, Request request) {
        String host = request.raw().getHeader("Host");
        if (host == null) {
            return false;
        }
        String own = normalise((request.raw().isSecure() ? "https://" : "http://") + host);
        return own.equals(normalise(origin));
    }

    void allow(String origin, Response response) {
        response.raw().setHeader("Access-Control-Allow-Origin", origin);
        response.raw().setHeader("Vary", "Origin");
    }

    private static String normalise(String origin) {
        String lower = origin.trim().toLowerCase(Locale.ROOT);
        return lower.endsWith("/") ? lower.substring(0, lower.length() - 1) : lower;
    }
}
