package io.postino.server.webadmin;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.postino.organisations.Organisation;
import io.postino.organisations.OrganisationsConfig;

/**
 * What a token of one organisation may do in WebAdmin: its own organisation's view, users,
 * suppression list, DKIM keys of its domains, rate-limit use and message tracking. Everything
 * else (other organisations, the queues, the server's configuration, tokens) is the operator's.
 *
 * <table>
 *   <caption>Allowed requests for {@code organisation:<id>}</caption>
 *   <tr><td>GET</td><td>{@code /organisations/<id>}, {@code /organisations/<id>/users}</td></tr>
 *   <tr><td>GET, PUT, DELETE</td><td>{@code /organisations/<id>/suppressions[/<address>]}</td></tr>
 *   <tr><td>PUT, DELETE, HEAD</td><td>{@code /users/<login>} with the login in one of its domains</td></tr>
 *   <tr><td>GET, POST, DELETE</td><td>{@code /dkim/domains/<domain>[/...]} for one of its domains</td></tr>
 *   <tr><td>GET</td><td>{@code /ratelimits/organisations/<id>}, {@code /ratelimits/users/<login>} of its users</td></tr>
 *   <tr><td>GET</td><td>{@code /tracking?organisation=<id>&...} (the organisation parameter is required)</td></tr>
 * </table>
 */
final class OrganisationScope {
    private static final Pattern ORGANISATION = Pattern.compile("/organisations/([^/]+)(/users)?/?");
    private static final Pattern SUPPRESSIONS = Pattern.compile("/organisations/([^/]+)/suppressions(/[^/]+)?/?");
    private static final Pattern USER = Pattern.compile("/users/([^/]+)/?");
    private static final Pattern DKIM = Pattern.compile("/dkim/domains/([^/]+)(/.*)?");
    private static final Pattern ORGANISATION_USAGE = Pattern.compile("/ratelimits/organisations/([^/]+)/?");
    private static final Pattern USER_USAGE = Pattern.compile("/ratelimits/users/([^/]+)/?");
    private static final Pattern TRACKING = Pattern.compile("/tracking/?");

    private OrganisationScope() {
    }

    /**
     * @param path the request path, not decoded
     * @param organisationParameter the {@code organisation} query parameter, if any
     */
    static boolean allows(String id, OrganisationsConfig config, String method, String path, Optional<String> organisationParameter) {
        Optional<Organisation> organisation = config.byId(id);
        if (organisation.isEmpty()) {
            return false;
        }
        Matcher matcher;
        if ((matcher = ORGANISATION.matcher(path)).matches()) {
            return method.equals("GET") && id.equals(decode(matcher.group(1)));
        }
        if ((matcher = SUPPRESSIONS.matcher(path)).matches()) {
            return is(method, "GET", "PUT", "DELETE") && id.equals(decode(matcher.group(1)));
        }
        if ((matcher = USER.matcher(path)).matches()) {
            return is(method, "PUT", "DELETE", "HEAD") && inDomains(organisation.get(), decode(matcher.group(1)));
        }
        if ((matcher = DKIM.matcher(path)).matches()) {
            return is(method, "GET", "POST", "DELETE")
                && organisation.get().domains().contains(decode(matcher.group(1)).toLowerCase(Locale.ROOT));
        }
        if ((matcher = ORGANISATION_USAGE.matcher(path)).matches()) {
            return method.equals("GET") && id.equals(decode(matcher.group(1)));
        }
        if ((matcher = USER_USAGE.matcher(path)).matches()) {
            return method.equals("GET") && inDomains(organisation.get(), decode(matcher.group(1)));
        }
        if (TRACKING.matcher(path).matches()) {
            return method.equals("GET") && organisationParameter.filter(id::equals).isPresent();
        }
        return false;
    }

    private static boolean inDomains(Organisation organisation, String login) {
        int at = login.lastIndexOf('@');
        return at > 0 && organisation.domains().contains(login.substring(at + 1).toLowerCase(Locale.ROOT));
    }

    private static boolean is(String method, String... allowed) {
        for (String one : allowed) {
            if (one.equals(method)) {
                return true;
            }
        }
        return false;
    }

    private static String decode(String segment) {
        return URLDecoder.decode(segment.replace("+", "%2B"), StandardCharsets.UTF_8);
    }
}
