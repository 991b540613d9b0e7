package io.postino.server.webadmin;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The forms of a request path that Jetty and Spark read differently, refused before any check
 * reads the path. Jetty drops a path parameter ({@code /users/carol@beta.test;x@acme.test} is
 * {@code /users/carol@beta.test} to the route) and resolves dot segments and encoded slashes;
 * Spark matches routes on the raw path split at its slashes. A scope check that read one form
 * while the route ran on another could be led to allow another organisation's user. What is left
 * reads the same to all three: each segment percent-decoded.
 *
 * <p>Refused: {@code ;} and {@code %3B}; {@code \} and {@code %5C}; {@code .} and {@code ..}
 * segments, also encoded ({@code %2e%2E}); empty segments ({@code //}) but a trailing slash;
 * control characters; malformed percent-encoding; and {@code %2F} unless allowed (James' mail
 * repository routes take a repository path with its slashes encoded, {@code var%2Fmail%2Ferror%2F}:
 * only the operator may use them, and the operator's token is not scoped).</p>
 */
final class RequestPath {
    private RequestPath() {
    }

    /**
     * @param raw the path as the client sent it ({@code HttpServletRequest.getRequestURI()}), not decoded
     * @param encodedSlashes whether {@code %2F} may appear in a segment
     * @return why the path is refused, or empty
     */
    static Optional<String> problem(String raw, boolean encodedSlashes) {
        if (raw == null || !raw.startsWith("/")) {
            return Optional.of("the path must start with '/'");
        }
        if (raw.indexOf(';') >= 0) {
            return Optional.of("path parameters (';') are not accepted");
        }
        if (raw.indexOf('\\') >= 0) {
            return Optional.of("backslashes are not accepted in the path");
        }
        String[] segments = raw.substring(1).split("/", -1);
        for (int i = 0; i < segments.length; i++) {
            String segment = segments[i];
            if (segment.isEmpty()) {
                if (i == segments.length - 1) {
                    continue;
                }
                return Optional.of("empty path segments ('//') are not accepted");
            }
            String decoded;
            try {
                // '+' is no space in a path: Jetty and Spark keep it.
                decoded = URLDecoder.decode(segment.replace("+", "%2B"), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                return Optional.of("malformed percent-encoding in the path");
            }
            if (decoded.equals(".") || decoded.equals("..")) {
                return Optional.of("dot segments ('.', '..') are not accepted in the path");
            }
            if (decoded.indexOf(';') >= 0) {
                return Optional.of("encoded ';' (%3B) is not accepted in the path");
            }
            if (decoded.indexOf('\\') >= 0) {
                return Optional.of("encoded backslashes (%5C) are not accepted in the path");
            }
            if (decoded.indexOf('/') >= 0 && !encodedSlashes) {
                return Optional.of("encoded slashes (%2F) are not accepted in the path");
            }
            if (decoded.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
                return Optional.of("control characters are not accepted in the path");
            }
        }
        return Optional.empty();
    }
}
