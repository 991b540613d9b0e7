package io.postino.server.webadmin;

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
 *   <tr><td>GET</td><td>{@code /organisations/<id>}, {@code /organisations/<id>/users}, {@code /organisations/<id>/autoconfig-records}, {@code /organisations/<id>/webhooks}</td></tr>
 *   <tr><td>GET, PUT, DELETE</td><td>{@code /organisations/<id>/suppressions[/<address>]}</td></tr>
 *   <tr><td>PUT, DELETE, HEAD</td><td>{@code /users/<login>} with the login in one of its domains</td></tr>
 *   <tr><td>PUT, DELETE</td><td>{@code /disabledUsers/<login>} (disable, enable) with the login in one of its domains</td></tr>
 *   <tr><td>GET, POST, DELETE</td><td>{@code /dkim/domains/<domain>[/...]} for one of its domains</td></tr>
 *   <tr><td>GET</td><td>{@code /ratelimits/organisations/<id>}, {@code /ratelimits/users/<login>} of its users</td></tr>
 *   <tr><td>GET</td><td>{@code /tracking?organisation=<id>&...} (the organisation parameter is required)</td></tr>
 *   <tr><td>GET</td><td>{@code /mailQueueSummary?organisation=<id>} (its own queues only; the parameter is required)</td></tr>
 *   <tr><td>DELETE</td><td>{@code /mailQueueSummary/mails?organisation=<id>&...} (the parameter is required)</td></tr>
 *   <tr><td>PUT, DELETE</td><td>{@code /mailQueueHolds/spool.<id>}, {@code /mailQueueHolds/outgoing.<id>} (hold, release its own queues)</td></tr>
 *   <tr><td>GET, PATCH, DELETE</td><td>{@code /mailQueues/spool.<id>[/mails]}, {@code /mailQueues/outgoing.<id>[/mails]} (GET only without {@code /mails}): its own queues' mail, flush, delete</td></tr>
 *   <tr><td>GET</td><td>{@code /whoami} (the token's own scope, for the web console)</td></tr>
 * </table>
 *
 * <p>A login is one of its domains' only when it has exactly one {@code @}, something before it,
 * and after it, in ASCII, one of the organisation's domains (case does not matter; a trailing dot
 * or any other spelling of the domain does not match). A {@code %} left after decoding (a
 * double-encoded {@code %2540}) is refused, so that nothing decoding once more reads another
 * login than the one checked. A DKIM domain is checked the same way.</p>
 */
final class OrganisationScope {
    private static final Pattern ORGANISATION = Pattern.compile("/organisations/([^/]+)(/users|/autoconfig-records|/webhooks)?/?");
    private static final Pattern SUPPRESSIONS = Pattern.compile("/organisations/([^/]+)/suppressions(/[^/]+)?/?");
    private static final Pattern USER = Pattern.compile("/users/([^/]+)/?");
    private static final Pattern DISABLED_USER = Pattern.compile("/disabledUsers/([^/]+)/?");
    private static final Pattern DKIM = Pattern.compile("/dkim/domains/([^/]+)(/.*)?");
    private static final Pattern ORGANISATION_USAGE = Pattern.compile("/ratelimits/organisations/([^/]+)/?");
    private static final Pattern USER_USAGE = Pattern.compile("/ratelimits/users/([^/]+)/?");
    private static final Pattern TRACKING = Pattern.compile("/tracking/?");
    private static final Pattern QUEUE_SUMMARY = Pattern.compile("/mailQueueSummary(/mails)?/?");
    private static final Pattern QUEUE_HOLD = Pattern.compile("/mailQueueHolds/(?:spool|outgoing)\\.([^/]+)/?");
    private static final Pattern QUEUE_MAILS = Pattern.compile("/mailQueues/(?:spool|outgoing)\\.([^/]+)(/mails)?/?");

    private OrganisationScope() {
    }

    /**
     * @param path the request path, decoded, as Spark's routes read it (the servlet path info of
     *        a path {@link RequestPath} accepts)
     * @param organisationParameter the {@code organisation} query parameter, if any
     */
    static boolean allows(String id, OrganisationsConfig config, String method, String path, Optional<String> organisationParameter) {
        Optional<Organisation> organisation = config.byId(id);
        if (organisation.isEmpty() || ambiguous(path)) {
            return false;
        }
        if (path.equals(WhoAmIRoutes.BASE)) {
            return method.equals("GET");
        }
        Matcher matcher;
        if ((matcher = ORGANISATION.matcher(path)).matches()) {
            return method.equals("GET") && id.equals(matcher.group(1));
        }
        if ((matcher = SUPPRESSIONS.matcher(path)).matches()) {
            return is(method, "GET", "PUT", "DELETE") && id.equals(matcher.group(1));
        }
        if ((matcher = USER.matcher(path)).matches()) {
            return is(method, "PUT", "DELETE", "HEAD") && inDomains(organisation.get(), matcher.group(1));
        }
        if ((matcher = DISABLED_USER.matcher(path)).matches()) {
            return is(method, "PUT", "DELETE") && inDomains(organisation.get(), matcher.group(1));
        }
        if ((matcher = DKIM.matcher(path)).matches()) {
            return is(method, "GET", "POST", "DELETE") && isDomainOf(organisation.get(), matcher.group(1));
        }
        if ((matcher = ORGANISATION_USAGE.matcher(path)).matches()) {
            return method.equals("GET") && id.equals(matcher.group(1));
        }
        if ((matcher = USER_USAGE.matcher(path)).matches()) {
            return method.equals("GET") && inDomains(organisation.get(), matcher.group(1));
        }
        if (TRACKING.matcher(path).matches()) {
            return method.equals("GET") && organisationParameter.filter(id::equals).isPresent();
        }
        if ((matcher = QUEUE_SUMMARY.matcher(path)).matches()) {
            return (matcher.group(1) == null ? method.equals("GET") : method.equals("DELETE"))
                && organisationParameter.filter(id::equals).isPresent();
        }
        if ((matcher = QUEUE_HOLD.matcher(path)).matches()) {
            return is(method, "PUT", "DELETE") && id.equals(matcher.group(1));
        }
        if ((matcher = QUEUE_MAILS.matcher(path)).matches()) {
            return (matcher.group(2) == null ? method.equals("GET") : is(method, "GET", "PATCH", "DELETE")) && id.equals(matcher.group(1));
        }
        return false;
    }

    /** What {@link RequestPath} refuses, should a path that has it come here all the same. */
    private static boolean ambiguous(String path) {
        return path.indexOf(';') >= 0 || path.indexOf('\\') >= 0 || path.contains("//") || path.contains("/./") || path.contains("/../")
            || path.endsWith("/.") || path.endsWith("/..");
    }

    private static boolean inDomains(Organisation organisation, String login) {
        int at = login.indexOf('@');
        return at > 0 && at == login.lastIndexOf('@') && login.indexOf('%') < 0 && isDomainOf(organisation, login.substring(at + 1));
    }

    private static boolean isDomainOf(Organisation organisation, String domain) {
        // Only ASCII: another reader may fold other characters to ASCII (the Kelvin sign U+212A lower-cases to 'k').
        boolean ascii = domain.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != '%');
        return ascii && organisation.domains().contains(domain.toLowerCase(Locale.ROOT));
    }

    private static boolean is(String method, String... allowed) {
        for (String one : allowed) {
            if (one.equals(method)) {
                return true;
            }
        }
        return false;
    }
}
